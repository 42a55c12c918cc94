"""The ``Storage`` port: where published media lives. Adapters: ``local`` (a directory,
the default) and ``s3`` (any S3-compatible object store, for workers on many machines).

Keys are relative POSIX paths such as ``titles/<id>/master.m3u8``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol


class InvalidKey(ValueError):
    """A storage key that is empty, absolute, or tries to leave the storage root."""


class AlreadyPublished(FileExistsError):
    """Something is already published under this prefix."""


@dataclass(frozen=True)
class ObjectInfo:
    """What a reader needs to serve an object: its size and a tag that changes with it."""

    size: int
    etag: str


class Storage(Protocol):
    """Published media, addressed by relative keys."""

    def publish_directory(self, source: Path, prefix: str, *, replace: bool = False) -> None:
        """Move a finished local directory under ``prefix``, atomically.

        ``replace`` swaps out what is already there (a task re-run after a crash).
        """
        ...

    def write_atomic(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``; readers see the old or the new bytes, never a mix."""
        ...

    def put_file(self, key: str, source: Path) -> None:
        """Store a copy of a local file under ``key``."""
        ...

    def read_bytes(self, key: str) -> bytes:
        """The bytes stored under ``key``; ``FileNotFoundError`` when there are none."""
        ...

    def remove_prefix(self, prefix: str) -> None:
        """Delete everything under ``prefix``; no error if there is nothing."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A file on this machine holding ``key``, or None when it is not stored."""
        ...

    def list_prefix(self, prefix: str) -> list[str]:
        """Every key under ``prefix``, sorted."""
        ...

    def staging_dir(self) -> Path:
        """A fresh private local directory for building files before they are stored."""
        ...

    def download(self, key: str, target: Path) -> None:
        """Copy the object under ``key`` into a local file."""
        ...

    def stat(self, key: str) -> ObjectInfo | None:
        """Size and version tag of the object under ``key``, or None when there is none."""
        ...

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` inclusive of the object under ``key``."""
        ...


def normalise_key(key: str) -> str:
    """Validate a key and return its canonical form; refuse anything that could escape."""
    if not key or "\x00" in key or "\\" in key:
        raise InvalidKey(f"invalid storage key: {key!r}")
    path = PurePosixPath(key)
    if path.is_absolute() or any(part in ("..", ".", "") for part in key.split("/")):
        raise InvalidKey(f"invalid storage key: {key!r}")
    return str(path)


from cineflux.storage.local import LocalStorage  # noqa: E402

__all__ = [
    "AlreadyPublished",
    "InvalidKey",
    "LocalStorage",
    "ObjectInfo",
    "Storage",
    "normalise_key",
]
