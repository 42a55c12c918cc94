"""Both storage adapters keep the same promises: local directory and S3 (moto's server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cineflux.storage import AlreadyPublished, InvalidKey, LocalStorage, Storage
from cineflux.storage.s3 import S3Storage


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each adapter in turn."""
    if request.param == "local":
        return LocalStorage(tmp_path / "media")
    s3: S3Storage = request.getfixturevalue("s3_storage")
    return s3


def _staged(storage: Storage, files: dict[str, bytes]) -> Path:
    staging = storage.staging_dir()
    for name, data in files.items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_bytes(data)
    return staging


def test_published_directory_is_listed_read_and_ranged(storage: Storage) -> None:
    staging = _staged(storage, {"a.m4s": b"0123456789", "sub/b.m3u8": b"#EXTM3U\n"})
    storage.publish_directory(staging, "titles/x")
    assert not staging.exists()
    assert storage.list_prefix("titles/x") == ["titles/x/a.m4s", "titles/x/sub/b.m3u8"]
    assert storage.read_bytes("titles/x/sub/b.m3u8") == b"#EXTM3U\n"
    assert storage.read_range("titles/x/a.m4s", 2, 5) == b"2345"
    info = storage.stat("titles/x/a.m4s")
    assert info is not None and info.size == 10 and info.etag
    assert storage.stat("titles/x/nothing") is None
    assert storage.exists("titles/x/a.m4s") and not storage.exists("titles/y/a.m4s")


def test_publishing_over_a_prefix_needs_replace(storage: Storage) -> None:
    storage.publish_directory(_staged(storage, {"a": b"1"}), "titles/x")
    with pytest.raises(AlreadyPublished):
        storage.publish_directory(_staged(storage, {"a": b"2"}), "titles/x")
    storage.publish_directory(_staged(storage, {"b": b"3"}), "titles/x", replace=True)
    assert storage.list_prefix("titles/x") == ["titles/x/b"]


def test_atomic_writes_replace_whole_objects(storage: Storage) -> None:
    storage.write_atomic("titles/x/master.m3u8", b"old")
    storage.write_atomic("titles/x/master.m3u8", b"new and longer")
    assert storage.read_bytes("titles/x/master.m3u8") == b"new and longer"


def test_files_come_in_and_go_out(storage: Storage, tmp_path: Path) -> None:
    source = tmp_path / "film.mov"
    source.write_bytes(b"mezzanine" * 1000)
    storage.put_file("sources/j/film.mov", source)
    copy = tmp_path / "copy.mov"
    storage.download("sources/j/film.mov", copy)
    assert copy.read_bytes() == source.read_bytes()


def test_remove_prefix_removes_everything_under_it_only(storage: Storage) -> None:
    storage.write_atomic("titles/x/a", b"1")
    storage.write_atomic("titles/x/deep/b", b"2")
    storage.write_atomic("titles/xy/c", b"3")
    storage.remove_prefix("titles/x")
    assert storage.list_prefix("titles/x") == []
    assert storage.list_prefix("titles/xy") == ["titles/xy/c"]
    storage.remove_prefix("titles/x")


def test_missing_objects_are_file_not_found(storage: Storage) -> None:
    with pytest.raises(FileNotFoundError):
        storage.read_bytes("titles/none/master.m3u8")


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", "a/../../b", ""])
def test_keys_that_could_escape_are_refused_by_both(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidKey):
        storage.write_atomic(key, b"x")
