"""What a published package holds, track by track: the input of the manifest writers.

Every figure here is read from the encoded files themselves (``isobmff``): segment durations
in the track's timescale, sizes in bytes, codec strings from the init segments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

INIT_NAME = "init.mp4"
SEGMENT_PATTERN = "seg-{number:05d}.m4s"
SEGMENT_TEMPLATE = "seg-$Number%05d$.m4s"
MEDIA_PLAYLIST = "index.m3u8"
SUBTITLE_FILE = "subtitles.vtt"
HLS_MULTIVARIANT = "master.m3u8"
DASH_MANIFEST = "manifest.mpd"
POSTER = "poster.jpg"


def track_directory(kind: Literal["video", "audio", "text"], track_id: str) -> str:
    """Where a package keeps a track's files, relative to its prefix (``video/<rung id>``):
    edge tokens withhold a play's excluded rungs by these names."""
    return f"{kind}/{track_id}"


@dataclass(frozen=True)
class Segment:
    """One CMAF media segment."""

    duration: int  # in the track's timescale
    size: int  # bytes


@dataclass(frozen=True)
class MediaTrack:
    """A video rung or an audio language: one CMAF track in its own directory."""

    id: str
    kind: Literal["video", "audio"]
    directory: str
    codecs: str
    timescale: int
    segments: tuple[Segment, ...]
    width: int | None = None
    height: int | None = None
    frame_rate: Fraction | None = None
    language: str | None = None  # BCP 47
    name: str | None = None
    channels: int | None = None
    sample_rate: int | None = None
    default: bool = False
    start_number: int = 1
    # CENC default key id (32 hex digits) when the track is encrypted; None in clear.
    key_id: str | None = None

    @property
    def codec_family(self) -> str:
        """``avc1``, ``hvc1``, ``av01``, ``mp4a``: groups tracks a player decodes alike."""
        return self.codecs.split(".")[0]

    @property
    def duration_seconds(self) -> float:
        """Total duration of the segments."""
        return sum(s.duration for s in self.segments) / self.timescale

    @property
    def average_bandwidth(self) -> int:
        """Bits per second over the whole track (HLS ``AVERAGE-BANDWIDTH``)."""
        seconds = self.duration_seconds
        return math.ceil(sum(s.size for s in self.segments) * 8 / seconds) if seconds else 0

    @property
    def peak_bandwidth(self) -> int:
        """The highest segment bit rate (HLS ``BANDWIDTH``, DASH ``@bandwidth``).

        Segments under a second (the sliver of audio that outlasts the picture) are left
        out unless there is nothing else: their box overhead alone would read as a peak
        several times the real one and make players pick lower rungs than they can afford.
        """
        long_enough = [s for s in self.segments if s.duration >= self.timescale]
        rates = [
            s.size * 8 * self.timescale / s.duration
            for s in (long_enough or self.segments)
            if s.duration > 0
        ]
        return math.ceil(max(rates)) if rates else 0

    def segment_name(self, index: int) -> str:
        """The file name of the segment at ``index`` (0-based) in this track's directory."""
        return SEGMENT_PATTERN.format(number=self.start_number + index)


@dataclass(frozen=True)
class TextTrack:
    """A WebVTT subtitle track, one file for the whole title."""

    id: str
    directory: str
    language: str  # BCP 47
    name: str
    forced: bool = False
    default: bool = False
    file_name: str = SUBTITLE_FILE


@dataclass(frozen=True)
class Thumbnails:
    """Trickplay: sprite sheets of tiles, one tile every ``interval`` seconds, and an index.

    Sheets are written per chunk (``sprite-c000-001.jpg``); the WebVTT index maps each time
    range to its tile, which is what players' seek bars read.
    """

    directory: str
    columns: int
    rows: int
    tile_width: int
    tile_height: int
    interval: float
    index_name: str = "thumbnails.vtt"


@dataclass(frozen=True)
class PackageLayout:
    """Every track of a package, as the manifests describe it."""

    video: tuple[MediaTrack, ...]
    audio: tuple[MediaTrack, ...] = ()
    text: tuple[TextTrack, ...] = ()
    thumbnails: Thumbnails | None = None

    @property
    def duration_seconds(self) -> float:
        """The presentation's length: its longest video track."""
        return max((t.duration_seconds for t in self.video), default=0.0)
