"""Encoding jobs: instant publish, leases taken over from dead workers, failures, progress."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import m3u8
import pytest
from sqlalchemy import select

from cineflux.catalog import service as catalog
from cineflux.clock import FrozenClock
from cineflux.media import service as media
from cineflux.media.flows import submit_ingest, worker_context
from cineflux.media.models import MediaJob, MediaTask
from cineflux.media.tasks import (
    Heartbeat,
    LeaseLost,
    WorkerContext,
    claim_next_task,
    run_task,
    work_until_idle,
)
from cineflux.platform import Platform
from tests.service.test_ingest import unresolved_references


def _context(platform: Platform, worker: str) -> WorkerContext:
    ctx = worker_context(platform)
    ctx.worker_id = worker
    return ctx


def _published_rungs(platform: Platform, title_id: str) -> list[tuple[int, int]] | None:
    master = platform.storage.local_path(f"titles/{title_id}/master.m3u8")
    if master is None:
        return None
    playlist = m3u8.load(str(master))
    assert unresolved_references(master.parent) == []
    return sorted(p.stream_info.resolution for p in playlist.playlists)


def test_lowest_rung_and_audio_publish_first_then_the_ladder_grows(
    platform: Platform, small_film: Path
) -> None:
    submitted = submit_ingest(platform, small_film, name="Essai", year=2024)
    ctx = _context(platform, "w1")
    seen: list[tuple[str, list[tuple[int, int]] | None, str | None]] = []
    while (task := claim_next_task(ctx)) is not None:
        assert run_task(ctx, task)
        with platform.sessions() as session:
            package = media.package_for_title(session, submitted.title_id)
            visible = [t.id for t in catalog.list_titles(session)]
        rungs = _published_rungs(platform, submitted.title_id)
        seen.append((task.name, rungs, package.status if package else None))
        assert (submitted.title_id in visible) == (package is not None)
    names = [name for name, _, _ in seen]
    # Phase 1 (audio, poster, the lowest rung's chunks) runs before any other rung.
    assert names.index("low-c001") < names.index("h264-c000")
    playable = [s for s in seen if s[2] == "playable"]
    assert playable, "the title was playable before the whole ladder was encoded"
    assert all(rungs == [(416, 234)] for _, rungs, _ in playable)
    assert seen[-1][1:] == ([(416, 234), (640, 360)], "complete")
    with platform.sessions() as session:
        progress = media.job_progress(session, submitted.job_id, clock=platform.clock)
    assert (progress.state, progress.progress, progress.playable) == ("succeeded", 1.0, True)


def test_a_dead_workers_task_is_taken_over_when_its_lease_runs_out(
    platform: Platform, small_film: Path, clock: FrozenClock
) -> None:
    submitted = submit_ingest(platform, small_film, name="Essai", year=2024)
    dead = _context(platform, "dead-worker")
    alive = _context(platform, "live-worker")
    abandoned = claim_next_task(dead)
    assert abandoned is not None  # ...and then the worker dies without a word.

    other = claim_next_task(alive)
    assert other is not None and other.id != abandoned.id  # the lease still holds
    assert run_task(alive, other)

    clock.advance(timedelta(seconds=platform.settings.lease_seconds + 1))
    work_until_idle(alive)
    with platform.sessions() as session:
        task = session.get_one(MediaTask, abandoned.id)
        assert (task.state, task.attempts) == ("done", 2)
        progress = media.job_progress(session, submitted.job_id, clock=clock)
    assert progress.state == "succeeded"
    assert _published_rungs(platform, submitted.title_id) == [(416, 234), (640, 360)]

    # The worker that came back to life finds its lease gone and writes nothing.
    with pytest.raises(LeaseLost):
        Heartbeat(dead, abandoned)(0.5, force=True)
    assert run_task(dead, abandoned) is False


def test_a_task_that_keeps_failing_fails_the_job_and_leaves_nothing_published(
    platform: Platform, small_film: Path
) -> None:
    submitted = submit_ingest(platform, small_film, name="Essai", year=2024)
    with platform.sessions() as session:
        job = session.get_one(MediaJob, submitted.job_id)
        source_key = job.source_key
    platform.storage.write_atomic(source_key, b"this is no longer a film")
    work_until_idle(_context(platform, "w1"))
    with platform.sessions() as session:
        progress = media.job_progress(session, submitted.job_id, clock=platform.clock)
        failed = session.scalars(
            select(MediaTask).where(
                MediaTask.job_id == submitted.job_id, MediaTask.state == "failed"
            )
        ).all()
        assert catalog.list_titles(session) == []
    assert progress.state == "failed"
    assert progress.error is not None and "failed 3 times" in progress.error
    assert [t.attempts for t in failed] == [3]
    assert platform.storage.list_prefix(f"titles/{submitted.title_id}") == []


def test_progress_is_weighted_and_has_an_eta_while_running(
    platform: Platform, small_film: Path, clock: FrozenClock
) -> None:
    submitted = submit_ingest(platform, small_film, name="Essai", year=2024)
    ctx = _context(platform, "w1")
    with platform.sessions() as session:
        before = media.job_progress(session, submitted.job_id, clock=clock)
    assert (before.state, before.progress, before.eta_seconds) == ("queued", 0.0, None)
    task = claim_next_task(ctx)
    assert task is not None
    clock.advance(timedelta(seconds=10))
    assert run_task(ctx, task)
    with platform.sessions() as session:
        during = media.job_progress(session, submitted.job_id, clock=clock)
    assert during.state == "running"
    assert 0 < during.progress < 1
    assert during.eta_seconds is not None and during.eta_seconds > 0
    assert during.tasks_done == 1
