"""A package of many rungs and two video codecs, described by the packager's own layout and
written by its own manifest writers; stored, for tests that go through HTTP."""

from __future__ import annotations

from fractions import Fraction

from sqlalchemy.orm import Session

from cineflux.catalog.models import Title
from cineflux.media.layout import (
    DASH_MANIFEST,
    HLS_MULTIVARIANT,
    MediaTrack,
    PackageLayout,
    Segment,
    TextTrack,
    track_directory,
)
from cineflux.media.models import MediaPackage, Rendition
from cineflux.media.writers import dash_mpd, hls_multivariant_playlist
from cineflux.storage import Storage

# (codec string, width, height) of the ladder: H.264 up to 1080p, HEVC up to 2160p.
RUNGS = [
    ("avc1.64001e", 640, 360),
    ("avc1.64001f", 1280, 720),
    ("avc1.640028", 1920, 1080),
    ("hvc1.1.6.L120.90", 1280, 720),
    ("hvc1.1.6.L150.90", 3840, 2160),
]
AAC = "mp4a.40.2"


def _segments(count: int, timescale: int, bytes_per_second: int) -> tuple[Segment, ...]:
    # 4-second segments, the last one shorter, as the packager cuts them.
    durations = [4 * timescale] * (count - 1) + [timescale * 3 // 2]
    return tuple(Segment(duration=d, size=bytes_per_second * d // timescale) for d in durations)


def ladder_layout() -> PackageLayout:
    """Five video rungs, French and English audio, French and English subtitles."""
    video = tuple(
        MediaTrack(
            id=f"{codecs.split('.')[0]}-{height}p",
            kind="video",
            directory=track_directory("video", f"{codecs.split('.')[0]}-{height}p"),
            codecs=codecs,
            timescale=12_800,
            segments=_segments(5, 12_800, height * 400),
            width=width,
            height=height,
            frame_rate=Fraction(25),
        )
        for codecs, width, height in RUNGS
    )
    audio = tuple(
        MediaTrack(
            id=f"audio-{language}",
            kind="audio",
            directory=f"audio/{language}",
            codecs=AAC,
            timescale=48_000,
            segments=_segments(5, 48_000, 16_000),
            language=language,
            name=name,
            channels=2,
            sample_rate=48_000,
            default=language == "fr",
        )
        for language, name in (("fr", "Français"), ("en", "English"))
    )
    text = tuple(
        TextTrack(id=f"text-{language}", directory=f"text/{language}", language=language, name=n)
        for language, n in (("fr", "Français"), ("en", "English"))
    )
    return PackageLayout(video=video, audio=audio, text=text)


def store_manifests(storage: Storage, prefix: str, layout: PackageLayout) -> None:
    """The package's two entry points, as publication writes them."""
    storage.write_atomic(f"{prefix}/{DASH_MANIFEST}", dash_mpd(layout).encode())
    storage.write_atomic(f"{prefix}/{HLS_MULTIVARIANT}", hls_multivariant_playlist(layout).encode())


def ladder_package(session: Session, storage: Storage, title: Title) -> MediaPackage:
    """A published package of ``ladder_layout`` for the title, its manifests stored."""
    layout = ladder_layout()
    prefix = f"titles/{title.id}"
    package = MediaPackage(
        title_id=title.id,
        storage_prefix=prefix,
        dash_manifest=DASH_MANIFEST,
        hls_manifest=HLS_MULTIVARIANT,
        poster="poster.jpg",
        duration_seconds=layout.duration_seconds,
        source_width=3840,
        source_height=2160,
        created_at=title.created_at,
        renditions=[
            Rendition(
                kind=track.kind,
                track_id=track.id,
                codecs=track.codecs,
                bandwidth=track.peak_bandwidth,
                width=track.width,
                height=track.height,
                language=track.language,
                name=track.name,
            )
            for track in (*layout.video, *layout.audio)
        ],
    )
    session.add(package)
    session.flush()
    store_manifests(storage, prefix, layout)
    return package
