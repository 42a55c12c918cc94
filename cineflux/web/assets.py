"""The web app's own files (scripts, styles, the player library), under versioned URLs.

Pages name each file as ``/static/<name>?v=<digest of its content>``, and that URL is
cached for a year without asking again (``immutable``): a TV or phone that comes back to
the watch page runs the player from its cache at once, where a file cached by heuristics
was asked again (a 304) whenever it had changed lately, and every deferred script of the
page waited for it (bench/playback.py, first frame). A new release changes the digest,
hence the URL; pages themselves are never cached (``templating.render``), so they always
name the current one. Without ``v``, or with one that is not the file's current digest, a
file is served as before and revalidated each time.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from urllib.parse import parse_qs

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
DIGEST_CHARS = 16


class AssetVersions:
    """Content digests of the files under a directory, read again when a file changes
    (size or modification time), so a file edited in place gets a new URL at once."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._digests: dict[str, tuple[int, int, str]] = {}
        self._lock = threading.Lock()

    def digest(self, name: str) -> str | None:
        """The digest of ``root/name``; None when there is no such file under root."""
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root):
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        known = self._digests.get(name)
        if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return known[2]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_CHARS]
        with self._lock:
            self._digests[name] = (stat.st_mtime_ns, stat.st_size, digest)
        return digest

    def url(self, name: str, *, prefix: str = "/static") -> str:
        """The versioned URL of a file (unversioned if it does not exist)."""
        digest = self.digest(name)
        return f"{prefix}/{name}" if digest is None else f"{prefix}/{name}?v={digest}"


class VersionedStaticFiles(StaticFiles):
    """StaticFiles whose versioned URLs are cached for good and the others revalidated."""

    def __init__(self, *, directory: Path, versions: AssetVersions) -> None:
        super().__init__(directory=str(directory))
        self.versions = versions

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [None])[0]
        name = self.get_path(scope)
        current = self.versions.digest(name) if asked is not None else None
        response.headers["Cache-Control"] = (
            IMMUTABLE if current is not None and asked == current else REVALIDATE
        )
        return response
