"""Versioned URLs of the web app's own files."""

from __future__ import annotations

import os
from pathlib import Path

from cineflux.web.assets import AssetVersions


def test_a_file_gets_a_new_url_when_its_content_changes(tmp_path: Path) -> None:
    script = tmp_path / "player.js"
    script.write_text("console.log(1);")
    versions = AssetVersions(tmp_path)
    first = versions.url("player.js")
    assert first.startswith("/static/player.js?v=") and len(first.split("v=")[1]) == 16
    assert versions.url("player.js") == first  # the same file, the same URL
    script.write_text("console.log(2);")
    # Same size, mtime moved on: read again.
    stat = script.stat()
    os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert versions.url("player.js") != first


def test_missing_files_and_paths_outside_the_root_have_no_version(tmp_path: Path) -> None:
    (tmp_path / "static").mkdir()
    (tmp_path / "secret.txt").write_text("no")
    versions = AssetVersions(tmp_path / "static")
    assert versions.digest("nothing.js") is None
    assert versions.url("nothing.js") == "/static/nothing.js"
    assert versions.digest("../secret.txt") is None
    assert versions.digest("/etc/passwd") is None
