"""The edge's disk cache: one file per object, named by a hash of its path, size-bounded.

Each cache file holds a small header (magic, then JSON: object path, size, ETag) followed
by the object's bytes, so one rename publishes data and metadata together and a restart
rebuilds the index from the files alone. A file is only ever renamed into place once it holds
the announced number of bytes; files of interrupted fills stay under ``tmp/`` and are
deleted at start. Open descriptors are kept per object (served by ``sendfile`` without an
``open``/``fstat`` per request) and closed once an evicted object's last reader is done.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import struct
import time
from collections import OrderedDict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cineflux.edge.eviction import EvictionPolicy, PinnedFillPlan

logger = logging.getLogger("cineflux.edge.cache")

MAGIC = b"CFXE1\n"
_LENGTH = struct.Struct(">I")
MAX_META_BYTES = 8192
# Descriptors kept open for hits: enough for every hot object, well under the fd limit.
MAX_OPEN_FILES = 2048


def object_key(path: str) -> str:
    """The cache key of an object path: a hash, so no path ever names a file."""
    return hashlib.sha256(path.encode()).hexdigest()


def encode_header(path: str, size: int, etag: str) -> bytes:
    """The header written before an object's bytes."""
    meta = json.dumps({"path": path, "size": size, "etag": etag}, separators=(",", ":")).encode()
    return MAGIC + _LENGTH.pack(len(meta)) + meta


def decode_header(data: bytes) -> tuple[str, int, str, int]:
    """``(path, size, etag, header length)`` from the start of a cache file, or ValueError."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + _LENGTH.size:
        raise ValueError("not a cache file")
    (length,) = _LENGTH.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + _LENGTH.size
    if length > MAX_META_BYTES or len(data) < start + length:
        raise ValueError("truncated cache header")
    meta = json.loads(data[start : start + length])
    path, size, etag = meta["path"], meta["size"], meta["etag"]
    if not isinstance(path, str) or not isinstance(size, int) or not isinstance(etag, str):
        raise ValueError("malformed cache header")
    return path, size, etag, start + length


@dataclass(eq=False)
class CachedObject:
    """An object stored whole in the cache."""

    key: str
    path: str
    size: int
    etag: str
    file: Path
    body_offset: int
    fd: int = -1
    readers: int = 0
    evicted: bool = False
    # Pre-built header lines of a whole-object answer (see server.py); filled on first use.
    head_fields: bytes = b""

    @property
    def disk_bytes(self) -> int:
        """What the object takes on disk, header included."""
        return self.body_offset + self.size

    def release(self) -> None:
        """One reader is done; the last one closes an evicted object's descriptor."""
        self.readers -= 1
        if self.evicted and self.readers == 0:
            self._close()

    def close_idle(self) -> bool:
        """Close the descriptor if no reader holds it; whether it is closed now."""
        if self.readers == 0:
            self._close()
        return self.fd < 0

    def _close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


@dataclass(eq=False)
class PendingFile:
    """A fill being written under ``tmp/``; becomes a CachedObject on commit."""

    key: str
    path: str
    size: int
    etag: str
    temp: Path
    fd: int
    body_offset: int
    reserved: int
    written: int = 0
    cacheable: bool = True

    def write(self, data: bytes | memoryview) -> None:
        """Append the next bytes of the body (the page cache absorbs it; no fsync per chunk)."""
        if self.written + len(data) > self.size:
            raise ValueError("upstream sent more than it announced")
        view = memoryview(data)
        while view:
            done = os.pwrite(self.fd, view, self.body_offset + self.written)
            self.written += done
            view = view[done:]


@dataclass
class CacheStats:
    """Counters the cache keeps for /metrics."""

    evictions: int = 0
    evicted_bytes: int = 0
    not_cached_too_large: int = 0


@dataclass
class DiskCache:
    """Objects on disk under ``root``, at most ``capacity`` bytes, evicted by ``policy``."""

    root: Path
    capacity: int
    policy: EvictionPolicy
    objects: dict[str, CachedObject] = field(default_factory=dict)
    by_key: dict[str, CachedObject] = field(default_factory=dict)
    open_files: OrderedDict[str, CachedObject] = field(default_factory=OrderedDict)
    max_open_files: int = MAX_OPEN_FILES
    used: int = 0
    reserved: int = 0
    stats: CacheStats = field(default_factory=CacheStats)

    @property
    def objects_dir(self) -> Path:
        """Where complete objects live (two levels of hash prefixes)."""
        return self.root / "objects"

    @property
    def temp_dir(self) -> Path:
        """Where fills are written until complete."""
        return self.root / "tmp"

    def open(self) -> None:
        """Create the folders, drop unfinished fills and rebuild the index from the files."""
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        for leftover in self.temp_dir.iterdir():
            leftover.unlink(missing_ok=True)
        found: list[tuple[float, CachedObject]] = []
        for file in self._cache_files():
            entry = self._read_entry(file)
            if entry is None:
                file.unlink(missing_ok=True)
                continue
            found.append((file.stat().st_mtime, entry))
        # Oldest first, so that a recency policy starts from the order the fills happened.
        for mtime, entry in sorted(found, key=lambda item: item[0]):
            self._index(entry)
            self.policy.admitted(entry.key, entry.size, mtime)
        self._evict_until(0, protected=())
        logger.info(
            "cache index rebuilt",
            extra={"objects": len(self.objects), "bytes": self.used, "capacity": self.capacity},
        )

    def _cache_files(self) -> Iterator[Path]:
        for prefix in self.objects_dir.iterdir():
            if prefix.is_dir():
                yield from (file for file in prefix.iterdir() if file.is_file())

    def _read_entry(self, file: Path) -> CachedObject | None:
        """The object a cache file holds if it is whole and where its path's hash says."""
        try:
            with file.open("rb") as handle:
                path, size, etag, offset = decode_header(handle.read(MAX_META_BYTES + 64))
            actual = file.stat().st_size
        except (OSError, ValueError, KeyError, json.JSONDecodeError):
            return None
        key = object_key(path)
        if actual != offset + size or file != self._final_path(key):
            return None
        return CachedObject(key, path, size, etag, file, offset)

    def _final_path(self, key: str) -> Path:
        return self.objects_dir / key[:2] / key

    def lookup(self, path: str) -> CachedObject | None:
        """The cached object at ``path``, counted as an access, or None."""
        entry = self.objects.get(path)
        if entry is not None:
            self.policy.accessed(entry.key, self._now())
        return entry

    def acquire(self, entry: CachedObject) -> int:
        """A descriptor to read ``entry`` from, held until ``entry.release()``."""
        if entry.fd < 0:
            entry.fd = os.open(entry.file, os.O_RDONLY | os.O_CLOEXEC)
        entry.readers += 1
        self._keep_open(entry)
        return entry.fd

    def _keep_open(self, entry: CachedObject) -> None:
        """Remember ``entry``'s descriptor as recently used; close the coldest idle ones."""
        self.open_files[entry.key] = entry
        self.open_files.move_to_end(entry.key)
        if len(self.open_files) > self.max_open_files:
            for key, cold in list(self.open_files.items())[: len(self.open_files) // 8]:
                if cold.close_idle():
                    del self.open_files[key]

    def hold_plan(self, paths: Sequence[str]) -> None:
        """Tonight's fill plan, best first: its objects outlast the day's misses until the
        next plan, when the policy pins plans (``bench/cdn_sim.py`` measured the gain)."""
        if isinstance(self.policy, PinnedFillPlan):
            self.policy.set_plan([object_key(path) for path in paths], self._now())

    def contains(self, path: str) -> bool:
        """Whether ``path`` is cached (not counted as an access)."""
        return path in self.objects

    def begin(
        self, path: str, size: int, etag: str, *, protected: Collection[str] = ()
    ) -> PendingFile:
        """A temp file for a fill of ``size`` bytes, room made for it if it can be cached.

        An object that cannot fit (larger than the cache, or only by evicting ``protected``
        keys) is still written to a temp file, so that its requesters get it, but is
        never stored.
        """
        key = object_key(path)
        header = encode_header(path, size, etag)
        needed = len(header) + size
        cacheable = needed <= self.capacity and self._evict_until(needed, protected=protected)
        if not cacheable:
            self.stats.not_cached_too_large += 1
        temp = self.temp_dir / f"{key}.{secrets.token_hex(6)}.tmp"
        fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640)
        try:
            os.pwrite(fd, header, 0)
        except OSError:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        reserved = needed if cacheable else 0
        self.reserved += reserved
        return PendingFile(key, path, size, etag, temp, fd, len(header), reserved, 0, cacheable)

    def commit(self, pending: PendingFile) -> CachedObject | None:
        """Publish a complete fill (rename into place); None when it was not cacheable."""
        if pending.written != pending.size:
            raise ValueError("a fill is committed only when whole")
        self.reserved -= pending.reserved
        if not pending.cacheable:
            self._discard_temp(pending)
            return None
        final = self._final_path(pending.key)
        final.parent.mkdir(exist_ok=True)
        self.remove(pending.path)
        os.replace(pending.temp, final)
        entry = CachedObject(
            pending.key, pending.path, pending.size, pending.etag, final, pending.body_offset
        )
        # The fill's descriptor reads the same inode: keep it rather than opening again.
        entry.fd = pending.fd
        self._index(entry)
        self._keep_open(entry)
        self.policy.admitted(entry.key, entry.size, self._now())
        return entry

    def abort(self, pending: PendingFile) -> None:
        """Drop an unfinished fill: nothing of it stays on disk."""
        self.reserved -= pending.reserved
        pending.reserved = 0
        self._discard_temp(pending)

    def _discard_temp(self, pending: PendingFile) -> None:
        # Streaming readers may still hold the fd; they read the unlinked inode until done.
        pending.temp.unlink(missing_ok=True)

    def remove(self, path: str) -> None:
        """Drop ``path`` from the cache (readers in flight finish from the unlinked file)."""
        entry = self.objects.get(path)
        if entry is not None:
            self._forget(entry)

    def _index(self, entry: CachedObject) -> None:
        self.objects[entry.path] = entry
        self.by_key[entry.key] = entry
        self.used += entry.disk_bytes

    def _forget(self, entry: CachedObject) -> None:
        del self.objects[entry.path]
        del self.by_key[entry.key]
        self.open_files.pop(entry.key, None)
        self.used -= entry.disk_bytes
        self.policy.removed(entry.key)
        entry.file.unlink(missing_ok=True)
        entry.evicted = True
        if entry.readers == 0:
            entry._close()

    def _evict_until(self, needed: int, *, protected: Collection[str]) -> bool:
        """Evict through the policy until ``needed`` more bytes fit; False if it cannot."""
        while self.used + self.reserved + needed > self.capacity:
            victim = self.policy.victim()
            if victim is None:
                return False
            entry = self.by_key.get(victim)
            if entry is None:
                self.policy.removed(victim)  # a key the index no longer holds
                continue
            if entry.path in protected:
                return False
            self._forget(entry)
            self.stats.evictions += 1
            self.stats.evicted_bytes += entry.disk_bytes
            logger.debug("evicted", extra={"key": victim, "bytes": entry.disk_bytes})
        return True

    def usable(self) -> bool:
        """Whether the cache disk takes writes now (a probe file written and removed)."""
        probe = self.temp_dir / f"probe.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, b"ok")
            finally:
                os.close(fd)
            probe.unlink()
        except OSError:
            return False
        return True

    def _now(self) -> float:
        return time.time()
