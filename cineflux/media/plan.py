"""Planning an encoding job: its tracks, its chunks and its tasks. Pure.

Phase 0, for per-title ladders, analyses the title and chooses the rungs' bitrates; the
encoding tasks are planned when it ends. Phase 1 makes the title playable as soon as
possible: every audio language, the lowest video rung (with the trickplay tiles it decodes
anyway) and the poster. Phase 2 encodes the other rungs. Video is cut into chunks of whole
segments, each a task any worker can take.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from cineflux.media.commands import Chunk, plan_chunks
from cineflux.media.ladder import Rung
from cineflux.media.languages import UnknownLanguage, native_name, to_bcp47, to_iso639_2
from cineflux.media.probe import SourceInfo

PHASE_ANALYSIS = 0
PHASE_PLAYABLE = 1
PHASE_FULL = 2
THUMBNAIL_WIDTH = 240
THUMBNAIL_GRID = (5, 5)


class InvalidIngestRequest(ValueError):
    """Ingest options that do not fit the source (languages, subtitles)."""


@dataclass(frozen=True)
class SubtitleInput:
    """An external subtitle file given at ingest."""

    language: str
    storage_key: str  # where its WebVTT conversion was stored
    forced: bool = False


@dataclass(frozen=True)
class TaskPlan:
    """A task to create."""

    name: str
    kind: str  # video | audio | poster
    phase: int
    priority: int
    params: dict[str, Any]
    weight: float


@dataclass(frozen=True)
class JobPlan:
    """The job's spec (stored as JSON) and its tasks."""

    spec: dict[str, Any]
    tasks: list[TaskPlan] = field(default_factory=list)


def parse_subtitle_option(option: str) -> tuple[str, bool, str]:
    """``fr=film.srt`` or ``fr:forced=film.srt`` → (language, forced, path)."""
    label, sep, path = option.partition("=")
    if not sep or not path or not label:
        raise InvalidIngestRequest(
            f"--subtitles takes LANG=FILE or LANG:forced=FILE, not {option!r}"
        )
    language, _, flag = label.partition(":")
    if flag not in ("", "forced"):
        raise InvalidIngestRequest(f"unknown subtitle flag {flag!r} (only 'forced')")
    try:
        return to_bcp47(language), flag == "forced", path
    except UnknownLanguage as error:
        raise InvalidIngestRequest(str(error)) from None


def audio_tracks(source: SourceInfo, languages: list[str] | None) -> list[dict[str, Any]]:
    """One track per audio stream, named by ``languages`` (in stream order) or the file's tags."""
    streams = source.audio_streams
    if languages is not None and len(languages) != len(streams):
        raise InvalidIngestRequest(
            f"the source has {len(streams)} audio stream(s) but {len(languages)} "
            "language(s) were given"
        )
    tracks: list[dict[str, Any]] = []
    for position, stream in enumerate(streams):
        tag = languages[position] if languages is not None else stream.language
        language: str | None = None
        if tag:
            try:
                language = to_bcp47(tag)
            except UnknownLanguage as error:
                raise InvalidIngestRequest(str(error)) from None
        track_id = f"audio-{language or 'und'}"
        if any(t["track_id"] == track_id for t in tracks):
            track_id = f"{track_id}-{position}"
        tracks.append(
            {
                "track_id": track_id,
                "stream_index": stream.index,
                "language": language,
                "iso639_2": to_iso639_2(language) if language else None,
                "name": native_name(language) if language else f"Audio {position + 1}",
                "default": position == 0,
            }
        )
    return tracks


def text_tracks(subtitles: list[SubtitleInput]) -> list[dict[str, Any]]:
    """One WebVTT track per subtitle input; two of the same language and kind are refused."""
    tracks: list[dict[str, Any]] = []
    for item in subtitles:
        track_id = f"text-{item.language}" + ("-forced" if item.forced else "")
        if any(t["track_id"] == track_id for t in tracks):
            raise InvalidIngestRequest(f"two subtitle files for {track_id}")
        name = native_name(item.language) + (" (forced)" if item.forced else "")
        tracks.append(
            {
                "track_id": track_id,
                "language": item.language,
                "name": name,
                "forced": item.forced,
                "default": False,
                "storage_key": item.storage_key,
            }
        )
    return tracks


def thumbnail_spec(source: SourceInfo, segment_seconds: int) -> dict[str, Any]:
    """One 240-pixel-wide tile per segment, 5x5 tiles per sprite sheet."""
    height = max(2, round(THUMBNAIL_WIDTH * source.height / source.width / 2) * 2)
    return {
        "interval": float(segment_seconds),
        "tile_width": THUMBNAIL_WIDTH,
        "tile_height": height,
        "columns": THUMBNAIL_GRID[0],
        "rows": THUMBNAIL_GRID[1],
    }


def rung_to_dict(rung: Rung) -> dict[str, Any]:
    """A rung as stored in the spec."""
    return {
        "codec": rung.codec,
        "width": rung.width,
        "height": rung.height,
        "bitrate": rung.bitrate,
        "vmaf": rung.vmaf,
        "crf": rung.crf,
        "expected_bitrate": rung.expected_bitrate,
    }


def rung_from_dict(data: dict[str, Any]) -> Rung:
    """A rung read back from the spec."""
    return Rung(
        data["codec"],
        data["width"],
        data["height"],
        data["bitrate"],
        vmaf=data.get("vmaf"),
        crf=data.get("crf"),
        expected_bitrate=data.get("expected_bitrate"),
    )


def chunk_to_dict(chunk: Chunk) -> dict[str, Any]:
    """A chunk as stored in task parameters."""
    return {
        "index": chunk.index,
        "start": chunk.start,
        "duration": chunk.duration,
        "first_segment": chunk.first_segment,
    }


def chunk_from_dict(data: dict[str, Any]) -> Chunk:
    """A chunk read back from task parameters."""
    return Chunk(data["index"], data["start"], data["duration"], data["first_segment"])


def lowest_rung(rungs: list[Rung]) -> Rung:
    """The rung that makes a title playable first: the smallest H.264 one."""
    return min((r for r in rungs if r.codec == "h264"), key=lambda r: (r.height, r.bitrate))


def plan_job(
    source: SourceInfo,
    *,
    rungs: list[Rung],
    audio: list[dict[str, Any]],
    text: list[dict[str, Any]],
    segment_seconds: int,
    chunk_seconds: int,
    per_title: bool = False,
) -> JobPlan:
    """The job's spec and first tasks: the analysis (per-title), or the encodes."""
    if not rungs:
        raise ValueError("a ladder needs at least one rung")
    chunks = plan_chunks(source.duration_seconds, segment_seconds, chunk_seconds)
    frame_rate = Fraction(source.frame_rate)
    spec: dict[str, Any] = {
        "duration": source.duration_seconds,
        "width": source.width,
        "height": source.height,
        "frame_rate": f"{frame_rate.numerator}/{frame_rate.denominator}",
        "hdr": source.hdr is not None,
        "segment_seconds": segment_seconds,
        "chunk_seconds": chunk_seconds,
        "rungs": [rung_to_dict(r) for r in rungs],
        "low_rung": lowest_rung(rungs).id,
        "audio": audio,
        "text": text,
        "thumbnails": thumbnail_spec(source, segment_seconds),
        "chunks": [chunk_to_dict(c) for c in chunks],
        "per_title": per_title,
    }
    if per_title:
        h264 = [r for r in rungs if r.codec == "h264"]
        analysis = TaskPlan(
            name="analysis",
            kind="analysis",
            phase=PHASE_ANALYSIS,
            priority=10,
            params={},
            weight=len(h264) * 7 * min(source.duration_seconds, 12.0) * 0.3,
        )
        return JobPlan(spec=spec, tasks=[analysis])
    return JobPlan(spec=spec, tasks=encode_tasks(spec))


def with_ladder(
    spec: dict[str, Any], rungs: list[Rung], analysis: dict[str, Any]
) -> dict[str, Any]:
    """The spec once the per-title analysis chose the ladder."""
    return {
        **spec,
        "rungs": [rung_to_dict(r) for r in rungs],
        "low_rung": lowest_rung(rungs).id,
        "analysis": analysis,
    }


def encode_tasks(spec: dict[str, Any]) -> list[TaskPlan]:
    """Phase 1 (audio, poster, the lowest rung) and phase 2 (every other rung) tasks."""
    rungs = [rung_from_dict(r) for r in spec["rungs"]]
    low = next(r for r in rungs if r.id == spec["low_rung"])
    chunks = [chunk_from_dict(c) for c in spec["chunks"]]
    duration = spec["duration"]
    segment_seconds = spec["segment_seconds"]
    megapixels = 1920 * 1080

    def seconds_of(chunk: Chunk) -> float:
        return (chunk.duration or duration - chunk.start) or segment_seconds

    tasks: list[TaskPlan] = []
    for track in spec["audio"]:
        tasks.append(
            TaskPlan(
                name=track["track_id"],
                kind="audio",
                phase=PHASE_PLAYABLE,
                priority=100,
                params={"track_id": track["track_id"]},
                weight=duration * 0.02,
            )
        )
    tasks.append(TaskPlan("poster", "poster", PHASE_PLAYABLE, 100, {}, 0.5))
    for chunk in chunks:
        tasks.append(
            TaskPlan(
                name=f"low-{chunk.name}",
                kind="video",
                phase=PHASE_PLAYABLE,
                priority=100 + chunk.index,
                params={"rungs": [low.id], "chunk": chunk_to_dict(chunk), "thumbnails": True},
                weight=seconds_of(chunk) * (0.3 + low.width * low.height / megapixels),
            )
        )
    rest = [r for r in rungs if r.id != low.id]
    for codec in dict.fromkeys(r.codec for r in rest):
        group = [r for r in rest if r.codec == codec]
        pixels = sum(r.width * r.height for r in group) / megapixels
        factor = {"h264": 1.0, "hevc": 3.0, "av1": 2.5}[codec]
        for chunk in chunks:
            tasks.append(
                TaskPlan(
                    name=f"{codec}-{chunk.name}",
                    kind="video",
                    phase=PHASE_FULL,
                    priority=1000 + chunk.index,
                    params={
                        "rungs": [r.id for r in group],
                        "chunk": chunk_to_dict(chunk),
                        "thumbnails": False,
                    },
                    weight=seconds_of(chunk) * (0.3 + pixels * factor),
                )
            )
    return tasks
