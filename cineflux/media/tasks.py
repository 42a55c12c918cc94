"""Encoding workers: claim a task under a lease, run it, report, and publish what is whole.

Any number of workers, in one process or on many machines, share the work through the
database: a task is claimed by a conditional UPDATE, kept by renewing its lease while ffmpeg
runs, and taken over by another worker when the lease runs out (a killed worker, a lost
machine). Each task writes its segments straight into the title's track directories; the
manifests that make them visible are written by ``finalize_job`` only when a track is whole.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cineflux.catalog import service as catalog
from cineflux.clock import Clock
from cineflux.db import transaction
from cineflux.media import isobmff, pertitle, quality
from cineflux.media import service as media
from cineflux.media.assembly import (
    THUMBNAILS_DIR,
    THUMBNAILS_INDEX,
    AssemblyError,
    layout_to_json,
    media_track,
    merge_track_parts,
    publish_layout,
)
from cineflux.media.commands import (
    HDR_TO_SDR,
    EncoderSettings,
    ThumbnailSpec,
    audio_command,
    video_chunk_command,
)
from cineflux.media.encoder import run_ffmpeg
from cineflux.media.ladder import Rung
from cineflux.media.layout import (
    DASH_MANIFEST,
    HLS_MULTIVARIANT,
    INIT_NAME,
    POSTER,
    MediaTrack,
    PackageLayout,
    TextTrack,
    Thumbnails,
    track_directory,
)
from cineflux.media.models import MediaJob, MediaPackage, MediaTask, Rendition
from cineflux.media.plan import (
    PHASE_FULL,
    PHASE_PLAYABLE,
    chunk_from_dict,
    encode_tasks,
    rung_from_dict,
    rung_to_dict,
    with_ladder,
)
from cineflux.media.poster import grab_poster
from cineflux.media.trickplay import SpriteSheet, sprites_for_chunk
from cineflux.protection.cenc import ffmpeg_encryption_options
from cineflux.protection.keystore import KeyStore
from cineflux.storage import Storage

log = logging.getLogger("cineflux.media.tasks")
HEARTBEAT_SECONDS = 2.0


class LeaseLost(RuntimeError):
    """Another worker took this task over: stop, and write nothing more."""


@dataclass
class WorkerContext:
    """What a worker needs: explicit dependencies, no globals."""

    sessions: sessionmaker[Session]
    storage: Storage
    clock: Clock
    ffmpeg: str
    lease_seconds: int = 60
    max_attempts: int = 3
    encoders: EncoderSettings = EncoderSettings()  # noqa: RUF009 -- frozen, shared safely
    worker_id: str = ""
    # Unwraps the content keys of titles ingested encrypted; None: every title in clear.
    keys: KeyStore | None = None

    def __post_init__(self) -> None:
        if not self.worker_id:
            self.worker_id = f"{socket.gethostname()}/{os.getpid()}"

    def for_thread(self) -> WorkerContext:
        """A copy naming the current thread, so leases tell workers apart."""
        return WorkerContext(
            sessions=self.sessions,
            storage=self.storage,
            clock=self.clock,
            ffmpeg=self.ffmpeg,
            lease_seconds=self.lease_seconds,
            max_attempts=self.max_attempts,
            encoders=self.encoders,
            worker_id=f"{self.worker_id.split('#')[0]}#{threading.get_ident()}",
            keys=self.keys,
        )


@dataclass(frozen=True)
class ClaimedTask:
    """A task this worker holds the lease of."""

    id: str
    job_id: str
    name: str
    kind: str
    params: dict[str, Any]
    spec: dict[str, Any]
    source_key: str
    title_id: str


def _claimable(now: Any) -> Any:
    return or_(
        MediaTask.state == "queued",
        (MediaTask.state == "running") & (MediaTask.lease_expires_at < now),
    )


def claim_next_task(ctx: WorkerContext, job_id: str | None = None) -> ClaimedTask | None:
    """Take the most urgent claimable task (queued, or running with an expired lease)."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        query = (
            select(MediaTask.id)
            .join(MediaJob, MediaJob.id == MediaTask.job_id)
            .where(_claimable(now), MediaJob.state.in_(("queued", "running")))
            .order_by(MediaTask.priority, MediaJob.created_at, MediaTask.name)
            .limit(8)
        )
        if job_id is not None:
            query = query.where(MediaTask.job_id == job_id)
        candidates = list(session.scalars(query))
    for task_id in candidates:
        claimed = _try_claim(ctx, task_id)
        if claimed is not None:
            return claimed
    return None


def _try_claim(ctx: WorkerContext, task_id: str) -> ClaimedTask | None:
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        result = session.execute(
            update(MediaTask)
            .where(MediaTask.id == task_id, _claimable(now))
            .values(
                state="running",
                lease_owner=ctx.worker_id,
                lease_expires_at=now + timedelta(seconds=ctx.lease_seconds),
                attempts=MediaTask.attempts + 1,
                started_at=now,
                progress=0.0,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return None  # somebody else was faster
        task = session.get_one(MediaTask, task_id)
        job = session.get_one(MediaJob, task.job_id)
        if job.state == "queued":
            job.state = "running"
            job.updated_at = now
        return ClaimedTask(
            id=task.id,
            job_id=job.id,
            name=task.name,
            kind=task.kind,
            params=dict(task.params),
            spec=dict(job.spec),
            source_key=job.source_key,
            title_id=job.title_id,
        )


class Heartbeat:
    """Renews the lease and records progress, at most every few seconds."""

    def __init__(self, ctx: WorkerContext, task: ClaimedTask) -> None:
        self.ctx = ctx
        self.task = task
        self.last = 0.0

    def __call__(self, fraction: float, force: bool = False) -> None:
        now_monotonic = time.monotonic()
        if not force and now_monotonic - self.last < HEARTBEAT_SECONDS:
            return
        self.last = now_monotonic
        now = self.ctx.clock.now()
        with transaction(self.ctx.sessions) as session:
            result = session.execute(
                update(MediaTask)
                .where(
                    MediaTask.id == self.task.id,
                    MediaTask.lease_owner == self.ctx.worker_id,
                    MediaTask.state == "running",
                )
                .values(
                    progress=max(0.0, min(1.0, fraction)),
                    lease_expires_at=now + timedelta(seconds=self.ctx.lease_seconds),
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                raise LeaseLost(self.task.name)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _store_track_output(
    ctx: WorkerContext,
    local_dir: Path,
    target_prefix: str,
    shift_seconds: float,
) -> dict[str, Any]:
    """Move one track's init and segments into storage, joined at ``shift_seconds``."""
    init_bytes = (local_dir / INIT_NAME).read_bytes()
    init = isobmff.parse_init(init_bytes)
    target_start = round(shift_seconds * init.timescale)
    delta: int | None = None
    segments: list[list[int]] = []
    for path in sorted(local_dir.glob("seg-*.m4s")):
        number = int(path.stem.split("-")[1])
        data = path.read_bytes()
        timing = isobmff.parse_segment(data, init.default_sample_flags)
        if init.handler == "vide" and not timing.starts_with_sync_sample:
            raise AssemblyError(f"{path.name} does not start with a keyframe")
        if delta is None:
            # A chunk encoded alone starts near zero: move it to its place on the title's
            # timeline. Only decode times change; not one sample is touched.
            delta = target_start - timing.base_decode_time
        shifted = isobmff.shift_decode_time(data, delta)
        ctx.storage.write_atomic(f"{target_prefix}/{path.name}", shifted)
        segments.append([number, timing.base_decode_time + delta, timing.duration, len(shifted)])
    if not segments:
        raise AssemblyError(f"ffmpeg wrote no segment into {local_dir.name}")
    ctx.storage.write_atomic(f"{target_prefix}/{INIT_NAME}", init_bytes)
    return {
        "codec": init.codec_string,
        "timescale": init.timescale,
        "init_sha256": _sha256(init_bytes),
        "key_id": init.default_kid,
        "width": init.width,
        "height": init.height,
        "channels": init.channels,
        "sample_rate": init.sample_rate,
        "segments": segments,
    }


def _encryption(ctx: WorkerContext, title_id: str, track_kind: str) -> str | None:
    """ffmpeg's CENC options for this title's track kind, if the title was ingested with keys."""
    if ctx.keys is None:
        return None
    with ctx.sessions() as session:
        key = ctx.keys.title_keys(session, title_id=title_id).get(track_kind)
    return None if key is None else ffmpeg_encryption_options(key.key, key.kid)


def _source_path(ctx: WorkerContext, key: str, scratch: Path) -> Path:
    local = ctx.storage.local_path(key)
    if local is not None:
        return local
    copy = scratch / Path(key).name
    ctx.storage.download(key, copy)
    return copy


def _run_video(
    ctx: WorkerContext, task: ClaimedTask, scratch: Path, beat: Heartbeat
) -> dict[str, Any]:
    spec = task.spec
    rungs_by_id = {r.id: r for r in map(rung_from_dict, spec["rungs"])}
    rungs = [rungs_by_id[rung_id] for rung_id in task.params["rungs"]]
    chunk = chunk_from_dict(task.params["chunk"])
    length = chunk.duration or max(0.1, spec["duration"] - chunk.start)
    source = _source_path(ctx, task.source_key, scratch)
    out = scratch / "out"
    thumbs = None
    if task.params.get("thumbnails"):
        t = spec["thumbnails"]
        thumbs = ThumbnailSpec(
            directory=out / "thumbs",
            interval=t["interval"],
            tile_width=t["tile_width"],
            tile_height=t["tile_height"],
            columns=t["columns"],
            rows=t["rows"],
        )
        thumbs.directory.mkdir(parents=True)
    for rung in rungs:
        (out / rung.id).mkdir(parents=True)
    command = video_chunk_command(
        ctx.ffmpeg,
        source,
        rungs,
        out,
        chunk,
        frame_rate=Fraction(spec["frame_rate"]),
        segment_seconds=spec["segment_seconds"],
        hdr=spec["hdr"],
        thumbnails=thumbs,
        encoders=ctx.encoders,
        encryption=_encryption(ctx, task.title_id, "video"),
    )
    run_ffmpeg(command, lambda seconds: beat(0.95 * seconds / length))
    beat(0.95, force=True)  # still ours? Only then write into the title's directories.
    prefix = f"titles/{task.title_id}"
    tracks = {
        rung.id: _store_track_output(
            ctx, out / rung.id, f"{prefix}/{track_directory('video', rung.id)}", chunk.start
        )
        for rung in rungs
    }
    sprites: list[list[Any]] = []
    if thumbs is not None:
        t = spec["thumbnails"]
        planned = sprites_for_chunk(chunk.start, length, t["interval"], t["columns"], t["rows"])
        for number, first_time, tiles in planned:
            path = thumbs.directory / f"sprite-{number:03d}.jpg"
            if not path.exists():
                continue
            name = f"sprite-{chunk.name}-{number:03d}.jpg"
            ctx.storage.write_atomic(f"{prefix}/{THUMBNAILS_DIR}/{name}", path.read_bytes())
            sprites.append([name, first_time, tiles])
    return {"tracks": tracks, "sprites": sprites}


def _run_audio(
    ctx: WorkerContext, task: ClaimedTask, scratch: Path, beat: Heartbeat
) -> dict[str, Any]:
    spec = task.spec
    track = next(a for a in spec["audio"] if a["track_id"] == task.params["track_id"])
    source = _source_path(ctx, task.source_key, scratch)
    out = scratch / track["track_id"]
    out.mkdir()
    command = audio_command(
        ctx.ffmpeg,
        source,
        track["stream_index"],
        out,
        language_iso639_2=track["iso639_2"],
        segment_seconds=spec["segment_seconds"],
        encryption=_encryption(ctx, task.title_id, "audio"),
    )
    run_ffmpeg(command, lambda seconds: beat(0.95 * seconds / spec["duration"]))
    beat(0.95, force=True)
    prefix = f"titles/{task.title_id}/{track_directory('audio', track['track_id'])}"
    return {"tracks": {track["track_id"]: _store_track_output(ctx, out, prefix, 0.0)}}


def _run_analysis(
    ctx: WorkerContext, task: ClaimedTask, scratch: Path, beat: Heartbeat
) -> dict[str, Any]:
    """Trial-encode samples of the title at every rung and fraction, score them with VMAF."""
    spec = task.spec
    source = _source_path(ctx, task.source_key, scratch)
    samples = pertitle.choose_samples(spec["duration"])
    size = quality.reference_size(spec["width"], spec["height"])
    reference = scratch / "reference.mkv"
    run_ffmpeg(
        quality.reference_command(
            ctx.ffmpeg,
            source,
            samples,
            reference,
            size,
            hdr_filter=HDR_TO_SDR if spec["hdr"] else None,
        )
    )
    seconds = sum(length for _, length in samples)
    gop = max(1, round(float(Fraction(spec["frame_rate"])) * spec["segment_seconds"]))
    ladder = [r for r in map(rung_from_dict, spec["rungs"]) if r.codec == "h264"]
    plan = pertitle.trial_plan(ladder)
    counter = iter(range(1_000_000))

    def measure(rung: Rung, crf: float | None) -> pertitle.Trial:
        index = next(counter)
        encoded = scratch / f"trial-{index}.mp4"
        run_ffmpeg(
            quality.trial_command(
                ctx.ffmpeg, reference, rung, encoded,
                gop=gop, preset=ctx.encoders.h264_preset, crf=crf,
            )
        )  # fmt: skip
        log = scratch / f"trial-{index}.json"
        run_ffmpeg(quality.vmaf_command(ctx.ffmpeg, encoded, reference, size, log))
        vmaf = quality.parse_vmaf_log(log.read_text())
        bitrate = round(encoded.stat().st_size * 8 / seconds)
        encoded.unlink()
        return pertitle.Trial(rung.id, crf, bitrate, vmaf)

    trials: list[pertitle.Trial] = []
    for index, spec_trial in enumerate(plan):
        beat(0.8 * index / len(plan))
        trials.append(measure(spec_trial.rung, spec_trial.crf))
    chosen: list[Rung] = []
    for index, rung in enumerate(ladder):
        beat(0.8 + 0.15 * index / len(ladder))
        default = next(t for t in trials if t.rung_id == rung.id and t.crf is None)
        candidate = pertitle.choose_rung(rung, trials)
        verified, checks = pertitle.verify_rung(
            rung, default, candidate, functools.partial(measure, rung)
        )
        chosen.append(verified)
        trials += checks
    others = [r for r in map(rung_from_dict, spec["rungs"]) if r.codec != "h264"]
    beat(0.95, force=True)
    return {
        "samples": samples,
        "reference": list(size),
        "trials": [asdict(t) for t in trials],
        "default_vmaf": {t.rung_id: round(t.vmaf, 2) for t in trials if t.crf is None},
        "rungs": [rung_to_dict(r) for r in chosen + others],
    }


def _run_poster(
    ctx: WorkerContext, task: ClaimedTask, scratch: Path, beat: Heartbeat
) -> dict[str, Any]:
    source = _source_path(ctx, task.source_key, scratch)
    output = scratch / POSTER
    stats = grab_poster(source, task.spec["duration"], output)
    beat(0.95, force=True)
    ctx.storage.write_atomic(f"titles/{task.title_id}/{POSTER}", output.read_bytes())
    return {"poster": POSTER, "time": stats.time, "mean": stats.mean, "stddev": stats.stddev}


RUNNERS: dict[str, Callable[[WorkerContext, ClaimedTask, Path, Heartbeat], dict[str, Any]]] = {
    "analysis": _run_analysis,
    "video": _run_video,
    "audio": _run_audio,
    "poster": _run_poster,
}


def run_task(ctx: WorkerContext, task: ClaimedTask) -> bool:
    """Run a claimed task to the end; record success or failure. True when it succeeded."""
    beat = Heartbeat(ctx, task)
    scratch = Path(tempfile.mkdtemp(prefix=f"cineflux-{task.name}-"))
    try:
        result = RUNNERS[task.kind](ctx, task, scratch, beat)
    except LeaseLost:
        log.warning("lease of %s lost; another worker has it", task.name)
        return False
    except Exception as error:
        log.exception("task %s failed", task.name)
        _record_failure(ctx, task, f"{type(error).__name__}: {error}")
        return False
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        done = session.execute(
            update(MediaTask)
            .where(MediaTask.id == task.id, MediaTask.lease_owner == ctx.worker_id)
            .values(
                state="done",
                progress=1.0,
                result=result,
                finished_at=now,
                lease_expires_at=None,
                error=None,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 0) != 1:
            return False
    finalize_job(ctx, task.job_id)
    return True


def _record_failure(ctx: WorkerContext, task: ClaimedTask, message: str) -> None:
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        row = session.get(MediaTask, task.id)
        if row is None or row.lease_owner != ctx.worker_id:
            return
        row.error = message[:2000]
        row.lease_expires_at = None
        if row.attempts >= ctx.max_attempts:
            row.state = "failed"
            job = session.get_one(MediaJob, row.job_id)
            _fail_job(ctx, job, f"{row.name} failed {row.attempts} times: {message}", now)
        else:
            row.state = "queued"


def _fail_job(ctx: WorkerContext, job: MediaJob, message: str, now: Any) -> None:
    """Mark the job failed. Files of a title never published are removed: nothing
    references them, and a retry starts from a clean directory."""
    job.state = "failed"
    job.error = message[:2000]
    job.updated_at = now
    job.finished_at = now
    if job.published_phase == 0:
        ctx.storage.remove_prefix(f"titles/{job.title_id}")


def _lock_job(session: Session, job_id: str, now: Any) -> MediaJob:
    """Serialise finalizers of one job: an UPDATE takes the row (or SQLite's write) lock."""
    session.execute(
        update(MediaJob)
        .where(MediaJob.id == job_id)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.get_one(MediaJob, job_id, populate_existing=True)


def finalize_job(ctx: WorkerContext, job_id: str) -> None:
    """Publish what is whole: phase 1 makes the title playable, phase 2 completes its ladder."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        job = _lock_job(session, job_id, now)
        if job.state not in ("queued", "running"):
            return
        tasks = list(session.scalars(select(MediaTask).where(MediaTask.job_id == job_id)))
        if job.spec.get("per_title") and "analysis" not in job.spec:
            _plan_after_analysis(session, job, tasks)
            return
        phase_done = {
            phase: all(t.state == "done" for t in tasks if t.phase <= phase)
            for phase in (PHASE_PLAYABLE, PHASE_FULL)
        }
        target = (
            PHASE_FULL
            if phase_done[PHASE_FULL]
            else (PHASE_PLAYABLE if phase_done[PHASE_PLAYABLE] else 0)
        )
        if target <= job.published_phase:
            return
        try:
            _publish(ctx, session, job, [t for t in tasks if t.phase <= target], target, now)
        except AssemblyError as error:
            _fail_job(ctx, job, f"assembly: {error}", now)
            return
        job.published_phase = target
        if target >= PHASE_PLAYABLE and job.playable_at is None:
            job.playable_at = now
        if target == PHASE_FULL:
            job.state = "succeeded"
            job.finished_at = now


def _plan_after_analysis(session: Session, job: MediaJob, tasks: list[MediaTask]) -> None:
    """Once the analysis has chosen the ladder, plan the encoding tasks on it."""
    analysis = next((t for t in tasks if t.kind == "analysis"), None)
    if analysis is None or analysis.state != "done" or analysis.result is None:
        return
    result = analysis.result
    rungs = [rung_from_dict(r) for r in result["rungs"]]
    job.spec = with_ladder(
        job.spec,
        rungs,
        {key: result[key] for key in ("samples", "reference", "trials", "default_vmaf")},
    )
    media.add_tasks(session, job, encode_tasks(job.spec))


def _publish(
    ctx: WorkerContext,
    session: Session,
    job: MediaJob,
    tasks: list[MediaTask],
    phase: int,
    now: Any,
) -> None:
    spec = job.spec
    prefix = f"titles/{job.title_id}"
    parts: dict[str, list[dict[str, Any]]] = {}
    sprites: list[SpriteSheet] = []
    for task in tasks:
        result = task.result or {}
        for track_id, report in result.get("tracks", {}).items():
            parts.setdefault(track_id, []).append(report)
        sprites += [
            SpriteSheet(name, first, tiles) for name, first, tiles in result.get("sprites", [])
        ]
    rungs = {r.id: r for r in map(rung_from_dict, spec["rungs"])}
    frame_rate = Fraction(spec["frame_rate"])
    video: list[MediaTrack] = []
    for rung_id in rungs:
        if rung_id not in parts:
            continue
        merged = merge_track_parts(rung_id, parts[rung_id])
        video.append(
            media_track(
                "video", rung_id, track_directory("video", rung_id), merged, frame_rate=frame_rate
            )
        )
    audio: list[MediaTrack] = []
    for track in spec["audio"]:
        merged = merge_track_parts(track["track_id"], parts.get(track["track_id"], []))
        audio.append(
            media_track(
                "audio",
                track["track_id"],
                track_directory("audio", track["track_id"]),
                merged,
                language=track["language"],
                name=track["name"],
                default=track["default"],
            )
        )
    text = tuple(
        TextTrack(
            id=t["track_id"],
            directory=track_directory("text", t["track_id"]),
            language=t["language"],
            name=t["name"],
            forced=t["forced"],
            default=t["default"],
        )
        for t in spec["text"]
    )
    t = spec["thumbnails"]
    sprites.sort(key=lambda s: s.first_time)
    thumbnails = Thumbnails(
        directory=THUMBNAILS_DIR,
        columns=t["columns"],
        rows=t["rows"],
        tile_width=t["tile_width"],
        tile_height=t["tile_height"],
        interval=t["interval"],
    )
    layout = PackageLayout(video=tuple(video), audio=tuple(audio), text=text, thumbnails=thumbnails)
    publish_layout(
        ctx.storage,
        prefix,
        layout,
        sprites=sprites,
        subtitle_sources={x["track_id"]: x["storage_key"] for x in spec["text"]},
    )
    _record_package(session, job, layout, phase, now, has_thumbnails=bool(sprites))
    catalog.mark_published(session, job.title_id, at=now)


def _record_package(
    session: Session,
    job: MediaJob,
    layout: PackageLayout,
    phase: int,
    now: Any,
    *,
    has_thumbnails: bool,
) -> None:
    spec = job.spec
    package = session.scalar(select(MediaPackage).where(MediaPackage.title_id == job.title_id))
    if package is None:
        package = MediaPackage(
            title_id=job.title_id,
            storage_prefix=f"titles/{job.title_id}",
            dash_manifest=DASH_MANIFEST,
            hls_manifest=HLS_MULTIVARIANT,
            poster=POSTER,
            source_width=spec["width"],
            source_height=spec["height"],
            created_at=now,
        )
        session.add(package)
    package.status = "complete" if phase == PHASE_FULL else "playable"
    package.layout = layout_to_json(layout)
    package.duration_seconds = layout.duration_seconds or spec["duration"]
    package.thumbnails = THUMBNAILS_INDEX if has_thumbnails else None
    package.updated_at = now
    vmaf = {rung_from_dict(r).id: r.get("vmaf") for r in spec["rungs"]}
    package.renditions = [
        Rendition(
            kind=track.kind,
            track_id=track.id,
            codecs=track.codecs,
            bandwidth=track.peak_bandwidth,
            average_bandwidth=track.average_bandwidth,
            width=track.width,
            height=track.height,
            frame_rate=float(track.frame_rate) if track.frame_rate else None,
            language=track.language,
            name=track.name,
            vmaf=vmaf.get(track.id),
        )
        for track in (*layout.video, *layout.audio)
    ] + [
        Rendition(
            kind="text",
            track_id=text.id,
            codecs="wvtt",
            bandwidth=0,
            language=text.language,
            name=text.name,
            forced=text.forced,
        )
        for text in layout.text
    ]
    session.flush()


def finalize_pending(ctx: WorkerContext) -> int:
    """Finish publishing jobs whose tasks are all done (a finalizer that died mid-way)."""
    with ctx.sessions() as session:
        job_ids = list(
            session.scalars(select(MediaJob.id).where(MediaJob.state.in_(("queued", "running"))))
        )
    for job_id in job_ids:
        finalize_job(ctx, job_id)
    return len(job_ids)


def work_until_idle(ctx: WorkerContext, job_id: str | None = None) -> int:
    """Claim and run tasks until none is claimable; returns how many this worker ran."""
    ran = 0
    while True:
        task = claim_next_task(ctx, job_id)
        if task is None:
            return ran
        run_task(ctx, task)
        ran += 1
