"""Local storage: keys that cannot escape, atomic publication, removal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cineflux.storage import AlreadyPublished, InvalidKey, LocalStorage, normalise_key


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "../secrets", "titles/../../etc", "a//b", "a/./b", "a\\b", "a\x00b", "a/"],
)
def test_keys_that_could_escape_or_are_ambiguous_are_refused(key: str) -> None:
    with pytest.raises(InvalidKey):
        normalise_key(key)


def test_ordinary_key_is_kept() -> None:
    assert normalise_key("titles/abc/seg-0-00001.m4s") == "titles/abc/seg-0-00001.m4s"


def _staged(storage: LocalStorage, files: dict[str, bytes]) -> Path:
    staging = storage.staging_dir()
    for name, data in files.items():
        (staging / name).write_bytes(data)
    return staging


def test_publish_makes_the_whole_directory_appear_at_once(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    staging = _staged(storage, {"a.m4s": b"1", "b.m3u8": b"2"})
    assert not storage.exists("titles/x/a.m4s")
    storage.publish_directory(staging, "titles/x")
    assert storage.list_prefix("titles/x") == ["titles/x/a.m4s", "titles/x/b.m3u8"]
    assert not staging.exists()


def test_publishing_twice_under_one_prefix_is_refused(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    storage.publish_directory(_staged(storage, {"a": b"1"}), "titles/x")
    second = _staged(storage, {"a": b"2"})
    with pytest.raises(AlreadyPublished):
        storage.publish_directory(second, "titles/x")
    assert storage.local_path("titles/x/a").read_bytes() == b"1"  # type: ignore[union-attr]


def test_remove_prefix_deletes_everything_and_tolerates_absence(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    storage.publish_directory(_staged(storage, {"a": b"1"}), "titles/x")
    storage.remove_prefix("titles/x")
    assert storage.list_prefix("titles/x") == []
    storage.remove_prefix("titles/x")


def test_symlink_inside_the_root_cannot_lead_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("no")
    storage = LocalStorage(tmp_path / "media")
    os.symlink(outside, tmp_path / "media" / "link")
    with pytest.raises(InvalidKey):
        storage.local_path("link/secret.txt")


def test_staging_area_is_not_readable_as_published_media(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    staging = _staged(storage, {"a": b"1"})
    with pytest.raises(InvalidKey):
        storage.local_path(f".staging/{staging.name}/a")
