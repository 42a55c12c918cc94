"""Pure builders of the ffmpeg command lines the pipeline runs, and of its chunk plan.

Every track is written by ffmpeg's HLS muxer as CMAF (fMP4 init + media segments); the
manifests are written afterwards by ``writers`` from what the files contain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from cineflux.media.ladder import Rung
from cineflux.media.layout import INIT_NAME

AUDIO_BITRATE = 128_000
AUDIO_SAMPLE_RATE = 48_000
# Tone-maps PQ/HLG sources to SDR BT.709, so that the SDR ladder looks right on every screen.
HDR_TO_SDR = (
    "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,"
    "tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv"
)


@dataclass(frozen=True)
class EncoderSettings:
    """Speed/quality trade-off of each encoder."""

    h264_preset: str = "veryfast"
    hevc_preset: str = "fast"
    av1_preset: int = 8


@dataclass(frozen=True)
class Chunk:
    """A stretch of the title encoded on its own: whole segments, numbered from 1."""

    index: int
    start: float  # seconds
    duration: float | None  # None: to the end
    first_segment: int

    @property
    def name(self) -> str:
        """``c000``, ``c001``: sortable task and directory names."""
        return f"c{self.index:03d}"


def plan_chunks(duration: float, segment_seconds: int, chunk_seconds: int) -> list[Chunk]:
    """Cut a title into chunks of whole segments (the last one runs to the end)."""
    if duration <= 0:
        raise ValueError("duration must be positive")
    per_chunk = max(1, chunk_seconds // segment_seconds)
    length = per_chunk * segment_seconds
    count = max(1, math.ceil(duration / length - 1e-9))
    # A remainder under half a segment (often audio outlasting the picture by a few frames)
    # may hold no video frame at all: it joins the chunk before.
    if count > 1 and duration - (count - 1) * length < segment_seconds / 2:
        count -= 1
    chunks = []
    for index in range(count):
        last = index == count - 1
        chunks.append(
            Chunk(
                index=index,
                start=float(index * length),
                duration=None if last else float(length),
                first_segment=index * per_chunk + 1,
            )
        )
    return chunks


@dataclass(frozen=True)
class ThumbnailSpec:
    """Trickplay tiles written beside a chunk's video."""

    directory: Path
    interval: float
    tile_width: int
    tile_height: int
    columns: int
    rows: int


def _hls_output(
    directory: Path, segment_seconds: int, first_segment: int, encryption: str | None = None
) -> list[str]:
    # CENC is the mp4 muxer's, which the HLS muxer runs for every segment (and the init).
    protect = ["-hls_segment_options", encryption] if encryption else []
    return [*protect,
        "-f", "hls",
        "-hls_time", str(segment_seconds),
        "-hls_playlist_type", "vod",
        "-hls_segment_type", "fmp4",
        "-hls_fmp4_init_filename", INIT_NAME,
        "-start_number", str(first_segment),
        "-hls_segment_filename", str(directory / "seg-%05d.m4s"),
        "-hls_flags", "independent_segments",
        str(directory / "chunk.m3u8"),
    ]  # fmt: skip


def _video_encoder(rung: Rung, gop: int, segment_seconds: int, enc: EncoderSettings) -> list[str]:
    keyframes = [
        "-g", str(gop), "-keyint_min", str(gop),
        "-force_key_frames", f"expr:gte(t,n_forced*{segment_seconds})",
    ]  # fmt: skip
    cap = ["-maxrate", str(rung.maxrate), "-bufsize", str(rung.bufsize)]
    # Per-title rungs: constant quality under the default rung's peak (capped CRF).
    rate = (
        ["-crf", f"{rung.crf:g}", *cap]
        if rung.crf is not None
        else ["-b:v", str(rung.bitrate), *cap]
    )
    if rung.codec == "h264":
        codec = [
            "-c:v", "libx264", "-preset", enc.h264_preset, "-profile:v", "high",
            "-sc_threshold", "0", "-x264-params", "open-gop=0",
        ]  # fmt: skip
    elif rung.codec == "hevc":
        codec = [
            "-c:v", "libx265", "-preset", enc.hevc_preset, "-tag:v", "hvc1",
            "-x265-params",
            f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:log-level=error",
        ]  # fmt: skip
    elif rung.codec == "av1":
        codec = [
            "-c:v", "libsvtav1", "-preset", str(enc.av1_preset),
            "-svtav1-params", "scd=0:enable-overlays=0",
        ]  # fmt: skip
        # SVT-AV1's VBR refuses a max rate (only capped CRF takes one): its buffer bounds peaks.
        if rung.crf is None:
            rate = ["-b:v", str(rung.bitrate), "-bufsize", str(rung.bufsize)]
    else:
        raise ValueError(f"unknown codec {rung.codec!r}")
    return [*codec, "-pix_fmt", "yuv420p", *keyframes, *rate, "-an", "-sn", "-dn"]


def video_chunk_command(
    ffmpeg: str,
    source: Path,
    rungs: list[Rung],
    output_root: Path,
    chunk: Chunk,
    *,
    frame_rate: Fraction,
    segment_seconds: int,
    hdr: bool = False,
    thumbnails: ThumbnailSpec | None = None,
    encoders: EncoderSettings | None = None,
    encryption: str | None = None,
) -> list[str]:
    """Decode one chunk once, scale it to every rung (and to thumbnails), encode, segment.

    Each rung lands in ``output_root/<rung id>/`` as ``init.mp4`` + ``seg-NNNNN.m4s``
    numbered from the chunk's first segment, encrypted when ``encryption`` gives the mp4
    muxer's CENC options (``protection.cenc.ffmpeg_encryption_options``). Keyframes are
    forced on segment boundaries and scene-cut keyframes are off, so all rungs (and all
    chunks) switch at the same instants.
    """
    if not rungs:
        raise ValueError("at least one rung is needed")
    enc = encoders or EncoderSettings()
    gop = max(1, round(float(frame_rate) * segment_seconds))
    outputs = len(rungs) + (1 if thumbnails else 0)
    decoded = "[0:v:0]" + (f"{HDR_TO_SDR}," if hdr else "")
    if outputs == 1:
        graph, branches = [], [decoded]
    else:
        branches = [f"[s{i}]" for i in range(outputs)]
        graph = [f"{decoded}split={outputs}{''.join(branches)}"]
    for i, rung in enumerate(rungs):
        graph.append(
            f"{branches[i]}scale={rung.width}:{rung.height}:flags=bicubic,setsar=1,"
            f"format=yuv420p[v{i}]"
        )
    if thumbnails:
        t = thumbnails
        graph.append(
            # select, not fps: it always keeps the chunk's first frame, even when the
            # chunk is shorter than one interval.
            f"{branches[-1]}select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,{t.interval:g})',"
            f"scale={t.tile_width}:{t.tile_height}:flags=bicubic,setsar=1,"
            f"tile={t.columns}x{t.rows}[thumbs]"
        )
    command = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats",
               "-progress", "pipe:1", "-y"]  # fmt: skip
    if chunk.start > 0:
        command += ["-ss", f"{chunk.start:.6f}"]
    if chunk.duration is not None:
        command += ["-t", f"{chunk.duration:.6f}"]
    command += ["-i", str(source), "-filter_complex", ";".join(graph)]
    for i, rung in enumerate(rungs):
        directory = output_root / rung.id
        command += ["-map", f"[v{i}]", *_video_encoder(rung, gop, segment_seconds, enc)]
        command += _hls_output(directory, segment_seconds, chunk.first_segment, encryption)
    if thumbnails:
        command += [
            "-map", "[thumbs]", "-q:v", "5", "-f", "image2", "-start_number", "1",
            str(thumbnails.directory / "sprite-%03d.jpg"),
        ]  # fmt: skip
    return command


def audio_command(
    ffmpeg: str,
    source: Path,
    stream_index: int,
    output_dir: Path,
    *,
    language_iso639_2: str | None,
    segment_seconds: int,
    encryption: str | None = None,
) -> list[str]:
    """Encode one audio stream (by its index among audio streams) to AAC-LC stereo CMAF,
    encrypted when ``encryption`` gives the mp4 muxer's CENC options."""
    command = [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-nostats",
        "-progress", "pipe:1", "-y",
        "-i", str(source),
        "-map", f"0:a:{stream_index}",
        "-c:a", "aac", "-b:a", str(AUDIO_BITRATE), "-ac", "2", "-ar", str(AUDIO_SAMPLE_RATE),
        "-vn", "-sn", "-dn",
    ]  # fmt: skip
    if language_iso639_2:
        command += ["-metadata:s:a:0", f"language={language_iso639_2}"]
    return command + _hls_output(output_dir, segment_seconds, 1, encryption)


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
