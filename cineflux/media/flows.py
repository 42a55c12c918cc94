"""Ingest: the use case that spans media, storage and the catalogue.

Everything that can be refused is checked before anything is written: the title's name,
the source (probe), the languages, the subtitle files. Only then are the source and the
subtitles stored, the title (unpublished) and the job recorded, and the job queued. The
title becomes visible when phase 1 is published.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cineflux.catalog import service as catalog
from cineflux.db import new_id, transaction
from cineflux.media import service as media
from cineflux.media.commands import EncoderSettings
from cineflux.media.ladder import ladder_for
from cineflux.media.plan import (
    InvalidIngestRequest,
    SubtitleInput,
    audio_tracks,
    parse_subtitle_option,
    plan_job,
    text_tracks,
)
from cineflux.media.probe import SourceInfo, probe
from cineflux.media.queue import TERMINAL, CeleryQueue, InProcessQueue, JobQueue
from cineflux.media.service import JobProgress
from cineflux.media.subtitles import read_subtitles, to_webvtt
from cineflux.media.tasks import WorkerContext
from cineflux.platform import Platform
from cineflux.protection.keystore import key_store


class IngestFailed(RuntimeError):
    """The encoding job failed; the message says which task and why."""


@dataclass(frozen=True)
class SubmittedIngest:
    """A queued ingest."""

    title_id: str
    job_id: str
    name: str
    source: SourceInfo


@dataclass(frozen=True)
class IngestResult:
    """A finished ingest."""

    title_id: str
    job_id: str
    name: str
    storage_prefix: str
    source: SourceInfo
    renditions: int
    seconds_to_playable: float
    seconds_to_complete: float


def worker_context(platform: Platform) -> WorkerContext:
    """The worker dependencies of this platform."""
    settings = platform.settings
    return WorkerContext(
        sessions=platform.sessions,
        storage=platform.storage,
        clock=platform.clock,
        ffmpeg=platform.ffmpeg,
        lease_seconds=settings.lease_seconds,
        max_attempts=settings.max_attempts,
        encoders=EncoderSettings(
            h264_preset=settings.h264_preset,
            hevc_preset=settings.hevc_preset,
            av1_preset=settings.av1_preset,
        ),
        keys=key_store(settings),
    )


def make_queue(platform: Platform) -> JobQueue:
    """The queue the settings choose: threads here, or Celery workers anywhere."""
    settings = platform.settings
    if settings.queue == "celery":
        broker = settings.celery_broker_url or settings.redis_url
        if not broker:
            raise ValueError("CINEFLUX_QUEUE=celery needs CINEFLUX_CELERY_BROKER_URL or REDIS_URL")
        return CeleryQueue(broker, settings.celery_messages)
    return InProcessQueue(worker_context(platform), settings.workers)


def _read_subtitle_inputs(options: list[str]) -> list[tuple[str, bool, str]]:
    """Parse and convert every subtitle option: (language, forced, WebVTT text)."""
    converted = []
    for option in options:
        language, forced, path = parse_subtitle_option(option)
        file = Path(path)
        if not file.is_file():
            raise InvalidIngestRequest(f"subtitle file {path}: no such file")
        cues = read_subtitles(file.read_bytes(), file.name)
        converted.append((language, forced, to_webvtt(cues)))
    return converted


def submit_ingest(
    platform: Platform,
    path: Path,
    *,
    name: str,
    year: int | None,
    audio_languages: list[str] | None = None,
    subtitles: list[str] | None = None,
    queue: JobQueue | None = None,
) -> SubmittedIngest:
    """Check everything, store the source, record title and job, and queue the job."""
    settings = platform.settings
    catalog.validate_title(name, year)
    source = probe(path)
    subtitle_inputs = _read_subtitle_inputs(subtitles or [])
    audio = audio_tracks(source, audio_languages)
    job_id, title_id = new_id(), new_id()
    source_key = f"sources/{job_id}/source{path.suffix.lower()[:10]}"
    subtitle_specs = [
        SubtitleInput(language, f"sources/{job_id}/text-{language}-{i}.vtt", forced)
        for i, (language, forced, _vtt) in enumerate(subtitle_inputs)
    ]
    text = text_tracks(subtitle_specs)
    plan = plan_job(
        source,
        rungs=ladder_for(source.width, source.height, settings.codec_list),
        audio=audio,
        text=text,
        segment_seconds=settings.segment_seconds,
        chunk_seconds=settings.chunk_seconds,
        per_title=settings.per_title_ladder,
    )
    storage = platform.storage
    try:
        storage.put_file(source_key, path)
        for spec, (_l, _f, vtt) in zip(subtitle_specs, subtitle_inputs, strict=True):
            storage.write_atomic(spec.storage_key, vtt.encode())
        with transaction(platform.sessions) as session:
            title = catalog.create_title(
                session, clock=platform.clock, name=name, year=year, title_id=title_id
            )
            if settings.encrypt_media:
                # The title's keys exist before its first task: workers encrypt with them.
                key_store(settings).create_title_keys(
                    session, title_id=title.id, now=platform.clock.now()
                )
            media.create_job(
                session,
                clock=platform.clock,
                title_id=title.id,
                source_key=source_key,
                plan=plan,
                job_id=job_id,
            )
    except BaseException:
        storage.remove_prefix(f"sources/{job_id}")
        raise
    if queue is not None:
        queue.submit(job_id)
    return SubmittedIngest(title_id=title_id, job_id=job_id, name=title.name, source=source)


def ingest_into(
    platform: Platform,
    path: Path,
    *,
    name: str,
    year: int | None,
    audio_languages: list[str] | None = None,
    subtitles: list[str] | None = None,
    on_submitted: Callable[[SubmittedIngest], None] | None = None,
    on_progress: Callable[[JobProgress], None] | None = None,
) -> IngestResult:
    """Ingest with in-process workers and wait for the whole ladder; ``IngestFailed`` if not."""
    queue = make_queue(platform)
    submitted = submit_ingest(
        platform,
        path,
        name=name,
        year=year,
        audio_languages=audio_languages,
        subtitles=subtitles,
        queue=queue,
    )
    if on_submitted is not None:
        on_submitted(submitted)
    pause = threading.Event()
    while True:
        if isinstance(queue, InProcessQueue):
            queue.join(timeout=0.25)
        else:
            pause.wait(0.25)  # remote workers: watch the job's progress in the database
        with platform.sessions() as session:
            progress = media.job_progress(session, submitted.job_id, clock=platform.clock)
        if on_progress is not None:
            on_progress(progress)
        local_busy = isinstance(queue, InProcessQueue) and queue.busy
        if progress.state in TERMINAL and not local_busy:
            break
    if progress.state != "succeeded":
        raise IngestFailed(progress.error or f"the encoding job ended {progress.state}")
    with platform.sessions() as session:
        package = media.package_for_title(session, submitted.title_id)
        assert package is not None
        renditions = len(package.renditions)
    assert progress.playable_at is not None and progress.finished_at is not None
    return IngestResult(
        title_id=submitted.title_id,
        job_id=submitted.job_id,
        name=submitted.name,
        storage_prefix=f"titles/{submitted.title_id}",
        source=submitted.source,
        renditions=renditions,
        seconds_to_playable=(progress.playable_at - progress.created_at).total_seconds(),
        seconds_to_complete=(progress.finished_at - progress.created_at).total_seconds(),
    )
