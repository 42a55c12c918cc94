"""From finished tasks to published manifests.

Tasks write their segments straight into the title's track directories and report what they
wrote (segment numbers, decode times, durations, sizes, codec strings). Assembly checks that
each track is whole (contiguous numbers, continuous times, identical init segments across
chunks, every segment starting on a keyframe), then writes the playlists and the MPD. It writes
the multivariant playlist and the MPD last: before that instant nothing references the new
tracks, after it everything they reference is stored.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict
from typing import Any

from cineflux.media.layout import (
    DASH_MANIFEST,
    HLS_MULTIVARIANT,
    MEDIA_PLAYLIST,
    MediaTrack,
    PackageLayout,
    Segment,
)
from cineflux.media.trickplay import SpriteSheet, thumbnails_vtt
from cineflux.media.writers import (
    dash_mpd,
    hls_media_playlist,
    hls_multivariant_playlist,
    hls_subtitle_playlist,
)
from cineflux.storage import Storage

THUMBNAILS_DIR = "trickplay"
THUMBNAILS_INDEX = f"{THUMBNAILS_DIR}/thumbnails.vtt"
# Chunks are joined on decode times; a gap or overlap above this many seconds is an error.
CONTINUITY_TOLERANCE = 0.050


class AssemblyError(RuntimeError):
    """Task outputs that do not join into a whole track."""


def merge_track_parts(track_id: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Join the per-chunk reports of one track into one, checking that they fit together."""
    if not parts:
        raise AssemblyError(f"{track_id}: no output")
    first = parts[0]
    for part in parts[1:]:
        for key in ("codec", "timescale", "init_sha256"):
            if part[key] != first[key]:
                raise AssemblyError(f"{track_id}: chunks disagree on {key}")
    segments = sorted((s for p in parts for s in p["segments"]), key=lambda s: s[0])
    timescale = first["timescale"]
    for previous, current in itertools.pairwise(segments):
        if current[0] != previous[0] + 1:
            raise AssemblyError(f"{track_id}: segment {previous[0] + 1} is missing")
        gap = (current[1] - (previous[1] + previous[2])) / timescale
        if abs(gap) > CONTINUITY_TOLERANCE:
            raise AssemblyError(
                f"{track_id}: segment {current[0]} starts {gap:+.3f}s away from the previous end"
            )
    merged = dict(first)
    merged["segments"] = segments
    return merged


def media_track(
    kind: str, track_id: str, directory: str, report: dict[str, Any], **extra: Any
) -> MediaTrack:
    """A layout track from a merged report."""
    segments = report["segments"]
    return MediaTrack(
        id=track_id,
        kind="video" if kind == "video" else "audio",
        directory=directory,
        codecs=report["codec"],
        timescale=report["timescale"],
        segments=tuple(Segment(duration=s[2], size=s[3]) for s in segments),
        start_number=segments[0][0] if segments else 1,
        width=report.get("width"),
        height=report.get("height"),
        channels=report.get("channels"),
        sample_rate=report.get("sample_rate"),
        key_id=report.get("key_id"),
        **extra,
    )


def layout_to_json(layout: PackageLayout) -> dict[str, Any]:
    """The layout as JSON, stored with the package so manifests can be rewritten later."""

    def track(t: MediaTrack) -> dict[str, Any]:
        data = asdict(t)
        data["segments"] = [[s.duration, s.size] for s in t.segments]
        data["frame_rate"] = (
            f"{t.frame_rate.numerator}/{t.frame_rate.denominator}" if t.frame_rate else None
        )
        return data

    return {
        "video": [track(t) for t in layout.video],
        "audio": [track(t) for t in layout.audio],
        "text": [asdict(t) for t in layout.text],
        "thumbnails": asdict(layout.thumbnails) if layout.thumbnails else None,
    }


def publish_layout(
    storage: Storage,
    prefix: str,
    layout: PackageLayout,
    *,
    sprites: list[SpriteSheet],
    subtitle_sources: dict[str, str],
) -> None:
    """Write every track's playlist, the subtitles and thumbnails index, then the manifests."""
    for track in (*layout.video, *layout.audio):
        storage.write_atomic(
            f"{prefix}/{track.directory}/{MEDIA_PLAYLIST}", hls_media_playlist(track).encode()
        )
    duration = layout.duration_seconds
    for text in layout.text:
        vtt = storage.read_bytes(subtitle_sources[text.id])
        storage.write_atomic(f"{prefix}/{text.directory}/{text.file_name}", vtt)
        storage.write_atomic(
            f"{prefix}/{text.directory}/{MEDIA_PLAYLIST}",
            hls_subtitle_playlist(text, duration).encode(),
        )
    thumbs = layout.thumbnails
    if thumbs is not None and sprites:
        index = thumbnails_vtt(
            sprites,
            interval=thumbs.interval,
            columns=thumbs.columns,
            tile_width=thumbs.tile_width,
            tile_height=thumbs.tile_height,
            duration=duration,
        )
        storage.write_atomic(f"{prefix}/{THUMBNAILS_INDEX}", index.encode())
    # Last: the two entry points. Everything they reference is stored by now.
    storage.write_atomic(f"{prefix}/{DASH_MANIFEST}", dash_mpd(layout).encode())
    storage.write_atomic(f"{prefix}/{HLS_MULTIVARIANT}", hls_multivariant_playlist(layout).encode())
