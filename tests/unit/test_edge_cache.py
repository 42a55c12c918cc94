"""The disk cache on its own: whole objects only, hashed names, a size bound, a warm restart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cineflux.edge.cache import DiskCache, decode_header, encode_header, object_key
from cineflux.edge.eviction import PinnedFillPlan, make_policy


def open_cache(root: Path, capacity: int = 10_000) -> DiskCache:
    cache = DiskCache(root, capacity, make_policy("lru"))
    cache.open()
    return cache


def store(cache: DiskCache, path: str, body: bytes, **kwargs: object) -> None:
    pending = cache.begin(path, len(body), '"e"', **kwargs)  # type: ignore[arg-type]
    pending.write(body)
    cache.commit(pending)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def disk_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in files_under(root))


def test_a_committed_object_is_found_and_its_file_is_named_by_hash(tmp_path: Path) -> None:
    cache = open_cache(tmp_path)
    store(cache, "/titles/a/seg.m4s", b"x" * 100)
    entry = cache.lookup("/titles/a/seg.m4s")
    assert entry is not None and entry.size == 100
    (only,) = files_under(tmp_path / "objects")
    assert only.name == object_key("/titles/a/seg.m4s")
    assert "titles" not in str(only.relative_to(tmp_path))
    with only.open("rb") as handle:
        data = handle.read()
    assert data[entry.body_offset :] == b"x" * 100
    assert cache.used == disk_bytes(tmp_path)


def test_a_fill_is_invisible_until_whole_and_an_aborted_one_leaves_nothing(tmp_path: Path) -> None:
    cache = open_cache(tmp_path)
    pending = cache.begin("/titles/a/seg.m4s", 100, '"e"')
    pending.write(b"x" * 60)
    assert cache.lookup("/titles/a/seg.m4s") is None
    with pytest.raises(ValueError):
        cache.commit(pending)  # 60 of 100 bytes: never stored as complete
    with pytest.raises(ValueError):
        pending.write(b"x" * 41)  # more than announced
    cache.abort(pending)
    os.close(pending.fd)
    assert files_under(tmp_path) == []
    assert cache.used == cache.reserved == 0


def test_eviction_keeps_the_disk_under_the_bound_and_drops_the_least_recent(tmp_path: Path) -> None:
    cache = open_cache(tmp_path, capacity=1_000)
    for n in range(5):
        store(cache, f"/titles/a/{n}.m4s", b"x" * 150)
    cache.lookup("/titles/a/0.m4s")  # recently used: kept
    for n in range(5, 12):
        store(cache, f"/titles/a/{n}.m4s", b"y" * 150)
        assert disk_bytes(tmp_path) <= 1_000
        assert cache.used == disk_bytes(tmp_path)
    assert cache.contains("/titles/a/11.m4s")
    assert not cache.contains("/titles/a/1.m4s")
    assert cache.stats.evictions == 12 - len(cache.objects)


def test_an_object_larger_than_the_cache_is_served_but_never_stored(tmp_path: Path) -> None:
    cache = open_cache(tmp_path, capacity=1_000)
    store(cache, "/titles/a/small.m4s", b"s" * 100)
    pending = cache.begin("/titles/a/huge.m4s", 5_000, '"e"')
    assert not pending.cacheable
    pending.write(b"h" * 5_000)
    assert cache.commit(pending) is None
    os.close(pending.fd)
    assert cache.contains("/titles/a/small.m4s")  # nothing evicted for it
    assert not cache.contains("/titles/a/huge.m4s")
    assert disk_bytes(tmp_path) == cache.used


def test_protected_objects_are_not_evicted_and_the_fill_is_told_there_is_no_room(
    tmp_path: Path,
) -> None:
    cache = open_cache(tmp_path, capacity=1_000)
    store(cache, "/titles/plan/1.m4s", b"p" * 400)
    store(cache, "/titles/plan/2.m4s", b"p" * 400)
    pending = cache.begin("/titles/plan/3.m4s", 400, '"e"', protected={"/titles/plan/1.m4s"})
    assert not pending.cacheable
    cache.abort(pending)
    os.close(pending.fd)
    assert cache.contains("/titles/plan/1.m4s") and cache.contains("/titles/plan/2.m4s")


def test_a_restart_rebuilds_the_index_and_drops_unfinished_and_damaged_files(
    tmp_path: Path,
) -> None:
    cache = open_cache(tmp_path)
    store(cache, "/titles/a/1.m4s", b"1" * 100)
    store(cache, "/titles/a/2.m4s", b"2" * 100)
    interrupted = cache.begin("/titles/a/3.m4s", 100, '"e"')
    interrupted.write(b"3" * 50)  # the process dies here
    damaged = cache.objects["/titles/a/2.m4s"].file
    with damaged.open("r+b") as handle:
        handle.truncate(damaged.stat().st_size - 1)
    stray = tmp_path / "objects" / "zz" / "not-a-cache-file"
    stray.parent.mkdir()
    stray.write_bytes(b"junk")

    again = open_cache(tmp_path)
    assert list(again.objects) == ["/titles/a/1.m4s"]
    assert again.used == disk_bytes(tmp_path)
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not stray.exists() and not damaged.exists()


def test_a_restart_with_a_smaller_bound_evicts_down_to_it(tmp_path: Path) -> None:
    cache = open_cache(tmp_path)
    for n in range(6):
        store(cache, f"/titles/a/{n}.m4s", b"x" * 100)
    smaller = open_cache(tmp_path, capacity=400)
    assert disk_bytes(tmp_path) <= 400
    assert smaller.used == disk_bytes(tmp_path)


def test_headers_round_trip_and_refuse_other_files() -> None:
    header = encode_header("/titles/a/x.m4s", 12, '"tag"')
    assert decode_header(header + b"body") == ("/titles/a/x.m4s", 12, '"tag"', len(header))
    for bad in (b"", b"GIF89a", header[:-3]):
        with pytest.raises(ValueError):
            decode_header(bad)


def test_an_unwritable_cache_disk_is_reported(tmp_path: Path) -> None:
    cache = open_cache(tmp_path)
    assert cache.usable()
    (tmp_path / "tmp").rmdir()
    (tmp_path / "tmp").write_text("a file where the folder was")
    assert not cache.usable()


def test_tonights_fill_plan_outlasts_the_days_misses_until_the_next_plan(
    tmp_path: Path,
) -> None:
    cache = DiskCache(tmp_path, 3_000, PinnedFillPlan(make_policy("lru")))
    cache.open()
    for name in ("planned", "b", "c"):
        store(cache, f"/titles/{name}/seg.m4s", b"x" * 800)
    cache.hold_plan(["/titles/planned/seg.m4s"])
    # The planned object is the least recently used, yet the misses evict around it.
    store(cache, "/titles/d/seg.m4s", b"x" * 800)
    store(cache, "/titles/e/seg.m4s", b"x" * 800)
    assert cache.contains("/titles/planned/seg.m4s")
    assert not cache.contains("/titles/b/seg.m4s") and not cache.contains("/titles/c/seg.m4s")
    # The next plan leaves it out: it rejoins the policy (as newly stored) and goes in turn.
    cache.hold_plan([])
    store(cache, "/titles/f/seg.m4s", b"x" * 800)
    store(cache, "/titles/g/seg.m4s", b"x" * 800)
    assert cache.contains("/titles/planned/seg.m4s")
    store(cache, "/titles/h/seg.m4s", b"x" * 800)
    assert not cache.contains("/titles/planned/seg.m4s")
    assert cache.used <= 3_000
