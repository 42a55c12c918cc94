"""Local-directory storage: staging beside the published tree, so publishing is a rename."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path, PurePosixPath

from cineflux.storage import AlreadyPublished, InvalidKey, ObjectInfo, normalise_key


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

    def download(self, key: str, target: Path) -> None:
        """Copy the stored file."""
        shutil.copyfile(self._path(key), target)

    def stat(self, key: str) -> ObjectInfo | None:
        """Size and a tag from size and modification time (published files never change)."""
        path = self._path(key)
        if not path.is_file():
            return None
        info = path.stat()
        return ObjectInfo(size=info.st_size, etag=f'"{info.st_size:x}-{info.st_mtime_ns:x}"')

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Read the bytes from the file."""
        with open(self._path(key), "rb") as handle:
            handle.seek(start)
            return handle.read(end - start + 1)
