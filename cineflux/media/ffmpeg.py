"""Pure builders of ffmpeg command lines, and parsers of what ffmpeg reports.

Nothing here starts a process: the runner in ``encoder.py`` does, so every decision about
rungs, keyframes and segment naming is tested without ffmpeg.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

INIT_SEGMENT_TEMPLATE = "init-$RepresentationID$.mp4"
MEDIA_SEGMENT_TEMPLATE = "seg-$RepresentationID$-$Number%05d$.m4s"
DASH_MANIFEST = "manifest.mpd"
HLS_MASTER = "master.m3u8"
POSTER = "poster.jpg"
AUDIO_BITRATE = 128_000


@dataclass(frozen=True)
class Rung:
    """One video rendition of the ladder."""

    width: int
    height: int
    bitrate: int  # bits per second

    @property
    def maxrate(self) -> int:
        """Peak rate allowed by the VBV: 1.5x the average, a common VOD constraint."""
        return self.bitrate * 3 // 2

    @property
    def bufsize(self) -> int:
        """VBV buffer: two seconds at the average rate."""
        return self.bitrate * 2


# The H.264 rungs of Apple's HLS authoring specification (16:9), lowest first.
APPLE_H264_LADDER: tuple[Rung, ...] = (
    Rung(416, 234, 145_000),
    Rung(640, 360, 365_000),
    Rung(768, 432, 730_000),
    Rung(768, 432, 1_100_000),
    Rung(960, 540, 2_000_000),
    Rung(1280, 720, 3_000_000),
    Rung(1280, 720, 4_500_000),
    Rung(1920, 1080, 6_000_000),
    Rung(1920, 1080, 7_800_000),
)


def _even(value: float) -> int:
    """Round to the nearest even integer, at least 2: H.264 with 4:2:0 needs even sizes."""
    return max(2, round(value / 2.0) * 2)


def _fit(rung: Rung, source_width: int, source_height: int) -> Rung:
    """Keep the rung's height, take the source's aspect ratio, scale the bitrate to the area."""
    width = _even(rung.height * source_width / source_height)
    height = _even(rung.height)
    bitrate = int(rung.bitrate * (width * height) / (rung.width * rung.height))
    return Rung(width, height, max(bitrate, 100_000))


def choose_two_rungs(source_width: int, source_height: int) -> list[Rung]:
    """The first-cut ladder: a top rung at or below the source, and one about half its height.

    Never upscales. Sources smaller than the smallest rung are encoded at their own size and
    at half of it.
    """
    if source_width <= 0 or source_height <= 0:
        raise ValueError("source dimensions must be positive")
    # One rung per height: the richest bitrate offered at that size.
    by_height: dict[int, Rung] = {}
    for rung in APPLE_H264_LADDER:
        if rung.height <= source_height:
            by_height[rung.height] = rung
    fitting = [by_height[h] for h in sorted(by_height)]
    if not fitting:
        scale = (source_width * source_height) / (416 * 234)
        top = Rung(_even(source_width), _even(source_height), max(100_000, int(145_000 * scale)))
        low = Rung(
            _even(source_width / 2), _even(source_height / 2), max(100_000, top.bitrate // 2)
        )
        return [low, top]
    top = _fit(fitting[-1], source_width, source_height)
    lower = fitting[:-1]
    if lower:
        low_base = min(lower, key=lambda r: abs(r.height - top.height / 2))
        low = _fit(low_base, source_width, source_height)
    else:
        low = Rung(_even(top.width / 2), _even(top.height / 2), max(100_000, top.bitrate // 3))
    return [low, top]


@dataclass(frozen=True)
class PackageJob:
    """Everything the packaging command needs to know."""

    source: Path
    output_dir: Path
    rungs: list[Rung]
    has_audio: bool
    frame_rate: Fraction
    segment_seconds: int = 4


def build_package_command(ffmpeg: str, job: PackageJob) -> list[str]:
    """One ffmpeg run: decode once, scale to every rung, encode H.264 + AAC, write CMAF.

    The DASH muxer writes fMP4 init and media segments, the MPD, and HLS playlists over the
    very same segments. Keyframes are forced on segment boundaries and scene-cut keyframes are
    off, so every rung's segments start at the same instants and players switch cleanly.
    """
    if not job.rungs:
        raise ValueError("at least one rung is needed")
    seconds = job.segment_seconds
    gop = max(1, round(float(job.frame_rate) * seconds))
    splits = "".join(f"[s{i}]" for i in range(len(job.rungs)))
    graph = [f"[0:v:0]split={len(job.rungs)}{splits}"]
    for i, rung in enumerate(job.rungs):
        graph.append(f"[s{i}]scale={rung.width}:{rung.height}:flags=bicubic,setsar=1[v{i}]")
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats",
        "-progress", "pipe:1", "-y",
        "-i", str(job.source),
        "-filter_complex", ";".join(graph),
    ]  # fmt: skip
    for i in range(len(job.rungs)):
        command += ["-map", f"[v{i}]"]
    if job.has_audio:
        command += ["-map", "0:a:0"]
    command += [
        "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high",
        "-pix_fmt", "yuv420p",
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{seconds})",
        "-x264-params", "open-gop=0",
    ]  # fmt: skip
    for i, rung in enumerate(job.rungs):
        command += [
            f"-b:v:{i}", str(rung.bitrate),
            f"-maxrate:v:{i}", str(rung.maxrate),
            f"-bufsize:v:{i}", str(rung.bufsize),
        ]  # fmt: skip
    adaptation_sets = "id=0,streams=v"
    if job.has_audio:
        command += ["-c:a", "aac", "-b:a", str(AUDIO_BITRATE), "-ac", "2", "-ar", "48000"]
        adaptation_sets += " id=1,streams=a"
    command += [
        "-f", "dash",
        "-seg_duration", str(seconds),
        "-use_template", "1", "-use_timeline", "1",
        "-hls_playlist", "1", "-hls_master_name", HLS_MASTER,
        "-adaptation_sets", adaptation_sets,
        "-init_seg_name", INIT_SEGMENT_TEMPLATE,
        "-media_seg_name", MEDIA_SEGMENT_TEMPLATE,
        str(job.output_dir / DASH_MANIFEST),
    ]  # fmt: skip
    return command


def build_poster_command(ffmpeg: str, source: Path, output: Path, at_seconds: float) -> list[str]:
    """Grab a representative frame near ``at_seconds`` as a 640-pixel-wide JPEG."""
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-ss", f"{max(0.0, at_seconds):.3f}", "-i", str(source),
        "-vf", "thumbnail=25,scale=640:-2", "-frames:v", "1", "-q:v", "3",
        str(output),
    ]  # fmt: skip


def poster_time(duration_seconds: float) -> float:
    """Where to look for a poster: a fifth in, past opening fades, but within the first minute."""
    return min(duration_seconds * 0.2, 60.0)


def parse_progress_seconds(line: str) -> float | None:
    """The media time reached, from one line of ``ffmpeg -progress`` output, if it says so.

    ffmpeg reports ``out_time_us`` (and, for historical reasons, ``out_time_ms`` also in
    microseconds); both may be ``N/A`` before the first frame.
    """
    key, _, value = line.strip().partition("=")
    if key not in ("out_time_us", "out_time_ms"):
        return None
    try:
        microseconds = int(value)
    except ValueError:
        return None
    return max(0.0, microseconds / 1_000_000)
