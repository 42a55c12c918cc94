"""The ``Storage`` port: where published media lives, and its local-directory adapter.

Keys are relative POSIX paths such as ``titles/<id>/master.m3u8``. Publication moves a whole
directory into place at once, so a reader sees either nothing or the complete package.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import Protocol


class InvalidKey(ValueError):
    """A storage key that is empty, absolute, or tries to leave the storage root."""


class AlreadyPublished(FileExistsError):
    """Something is already published under this prefix."""


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
        """A fresh private directory on the same file system, for building a package."""
        ...


def normalise_key(key: str) -> str:
    """Validate a key and return its canonical form; refuse anything that could escape."""
    if not key or "\x00" in key or "\\" in key:
        raise InvalidKey(f"invalid storage key: {key!r}")
    path = PurePosixPath(key)
    if path.is_absolute() or any(part in ("..", ".", "") for part in key.split("/")):
        raise InvalidKey(f"invalid storage key: {key!r}")
    return str(path)


class LocalStorage:
    """Storage in a local directory; staging lives beside it so publishing is a rename."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._staging_root = self.root / ".staging"
        self._staging_root.mkdir(exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / normalise_key(key)).resolve()
        # resolve() follows symlinks: a link planted inside the root cannot lead outside it.
        if not path.is_relative_to(self.root) or path.is_relative_to(self._staging_root):
            raise InvalidKey(f"invalid storage key: {key!r}")
        return path

    def publish_directory(self, source: Path, prefix: str, *, replace: bool = False) -> None:
        """Rename ``source`` to ``prefix``: one atomic step on a single file system."""
        target = self._path(prefix)
        if target.exists():
            if not replace:
                raise AlreadyPublished(prefix)
            self.remove_prefix(prefix)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(source, target)

    def write_atomic(self, key: str, data: bytes) -> None:
        """Write aside, flush, then rename over the old file."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        draft = self._staging_root / f"write-{uuid.uuid4().hex}"
        with open(draft, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(draft, target)

    def put_file(self, key: str, source: Path) -> None:
        """Hard-link when on the same file system (free for large mezzanines), else copy."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        draft = self._staging_root / f"put-{uuid.uuid4().hex}"
        try:
            os.link(source, draft)
        except OSError:
            shutil.copyfile(source, draft)
        os.replace(draft, target)

    def read_bytes(self, key: str) -> bytes:
        """The stored bytes."""
        return self._path(key).read_bytes()

    def remove_prefix(self, prefix: str) -> None:
        """Delete ``prefix``: renamed aside first, so readers never see half of it."""
        target = self._path(prefix)
        if not target.exists():
            return
        doomed = self._staging_root / f"deleting-{uuid.uuid4().hex}"
        os.rename(target, doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def exists(self, key: str) -> bool:
        """Whether a file is stored under ``key``."""
        return self._path(key).is_file()

    def local_path(self, key: str) -> Path | None:
        """The file holding ``key``, or None."""
        path = self._path(key)
        return path if path.is_file() else None

    def list_prefix(self, prefix: str) -> list[str]:
        """Every file key under ``prefix``."""
        base = self._path(prefix)
        if not base.is_dir():
            return []
        return sorted(
            str(PurePosixPath(path.relative_to(self.root)))
            for path in base.rglob("*")
            if path.is_file()
        )

    def staging_dir(self) -> Path:
        """A new directory under ``.staging``, removed by the caller when done."""
        path = self._staging_root / uuid.uuid4().hex
        path.mkdir()
        return path
