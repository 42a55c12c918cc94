"""Delivery decisions: URLs, content types and cache lifetimes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cineflux.delivery.service import (
    RangeNotSatisfiable,
    cache_control_for,
    content_type_for,
    parse_range,
    playback_urls,
)


@dataclass
class FakePackage:
    storage_prefix: str = "titles/abc"
    dash_manifest: str = "manifest.mpd"
    hls_manifest: str = "master.m3u8"
    poster: str = "poster.jpg"
    thumbnails: str | None = "trickplay/thumbnails.vtt"


def test_playback_urls_point_into_the_package() -> None:
    urls = playback_urls(FakePackage())
    assert urls.dash == "/media/titles/abc/manifest.mpd"
    assert urls.hls == "/media/titles/abc/master.m3u8"
    assert urls.poster == "/media/titles/abc/poster.jpg"
    assert urls.thumbnails == "/media/titles/abc/trickplay/thumbnails.vtt"
    assert playback_urls(FakePackage(thumbnails=None)).thumbnails is None


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("t/master.m3u8", "application/vnd.apple.mpegurl"),
        ("t/manifest.mpd", "application/dash+xml"),
        ("t/init-0.mp4", "video/mp4"),
        ("t/seg-0-00001.m4s", "video/iso.segment"),
        ("t/poster.JPG", "image/jpeg"),
        ("t/unknown.bin", "application/octet-stream"),
    ],
)
def test_content_types(key: str, expected: str) -> None:
    assert content_type_for(key) == expected


def test_segments_are_immutable_and_manifests_short_lived() -> None:
    assert "immutable" in cache_control_for("t/seg-1-00001.m4s")
    assert "max-age=31536000" in cache_control_for("t/poster.jpg")
    assert cache_control_for("t/master.m3u8") == "private, max-age=60"
    assert cache_control_for("t/manifest.mpd") == "private, max-age=60"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 9)),
        ("bytes=10-", (10, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=90-200", (90, 99)),
        ("bytes=5-2", None),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=x-y", None),
    ],
)
def test_ranges_are_parsed_as_rfc_9110_says(
    header: str | None, expected: tuple[int, int] | None
) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=150-160", "bytes=-0"])
def test_ranges_past_the_end_are_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)
