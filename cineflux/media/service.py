"""Media records: jobs and their progress, published packages, ladder reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from cineflux.clock import Clock
from cineflux.db import new_id
from cineflux.media.models import MediaJob, MediaPackage, MediaTask
from cineflux.media.plan import JobPlan, TaskPlan


class MediaError(Exception):
    """Base of the media domain's errors."""


class JobNotFound(MediaError):
    """No encoding job has this id."""


@dataclass(frozen=True)
class JobProgress:
    """How far an encoding job is, for progress bars and the API."""

    id: str
    title_id: str
    state: str
    progress: float  # 0..1, weighted by the work each task represents
    eta_seconds: float | None
    playable: bool
    tasks_total: int
    tasks_done: int
    error: str | None
    created_at: datetime
    playable_at: datetime | None
    finished_at: datetime | None


def create_job(
    session: Session,
    *,
    clock: Clock,
    title_id: str,
    source_key: str,
    plan: JobPlan,
    job_id: str | None = None,
) -> MediaJob:
    """Record a job and its tasks, queued."""
    now = clock.now()
    job = MediaJob(
        id=job_id or new_id(),
        title_id=title_id,
        state="queued",
        source_key=source_key,
        spec=plan.spec,
        published_phase=0,
        created_at=now,
        updated_at=now,
        tasks=[_task(None, t) for t in plan.tasks],
    )
    session.add(job)
    session.flush()
    return job


def add_tasks(session: Session, job: MediaJob, plans: list[TaskPlan]) -> None:
    """Queue more tasks for a job (the encodes, once the analysis is done)."""
    for plan in plans:
        session.add(_task(job.id, plan))
    session.flush()


def _task(job_id: str | None, plan: TaskPlan) -> MediaTask:
    task = MediaTask(
        name=plan.name,
        kind=plan.kind,
        phase=plan.phase,
        priority=plan.priority,
        params=plan.params,
        weight=plan.weight,
        state="queued",
        attempts=0,
        progress=0.0,
    )
    if job_id is not None:
        task.job_id = job_id
    return task


def job_progress(session: Session, job_id: str, *, clock: Clock) -> JobProgress:
    """Weighted progress and an ETA from the time spent so far."""
    job = session.get(MediaJob, job_id)
    if job is None:
        raise JobNotFound(job_id)
    tasks = list(session.scalars(select(MediaTask).where(MediaTask.job_id == job_id)))
    total = sum(t.weight for t in tasks) or 1.0
    done = sum(t.weight * (1.0 if t.state == "done" else t.progress) for t in tasks)
    fraction = min(1.0, done / total)
    started = [t.started_at for t in tasks if t.started_at is not None]
    eta = None
    if job.state == "succeeded":
        fraction, eta = 1.0, 0.0
    elif started and fraction > 0.01 and job.state == "running":
        elapsed = (clock.now() - min(started)).total_seconds()
        eta = max(0.0, elapsed * (1 - fraction) / fraction)
    return JobProgress(
        id=job.id,
        title_id=job.title_id,
        state=job.state,
        progress=fraction,
        eta_seconds=eta,
        playable=job.published_phase >= 1,
        tasks_total=len(tasks),
        tasks_done=sum(1 for t in tasks if t.state == "done"),
        error=job.error,
        created_at=job.created_at,
        playable_at=job.playable_at,
        finished_at=job.finished_at,
    )


def list_jobs(session: Session, *, limit: int = 50) -> list[MediaJob]:
    """The most recent jobs first."""
    return list(session.scalars(select(MediaJob).order_by(MediaJob.created_at.desc()).limit(limit)))


def jobs_for_title(session: Session, title_id: str) -> list[MediaJob]:
    """A title's jobs, most recent first."""
    return list(
        session.scalars(
            select(MediaJob)
            .where(MediaJob.title_id == title_id)
            .order_by(MediaJob.created_at.desc())
        )
    )


def packages_by_title(session: Session, title_ids: Iterable[str]) -> dict[str, MediaPackage]:
    """The package of each of these titles that has one."""
    ids = list(title_ids)
    if not ids:
        return {}
    rows = session.scalars(select(MediaPackage).where(MediaPackage.title_id.in_(ids)))
    return {package.title_id: package for package in rows}


# Built once: every play and manifest fetch runs it, and building it cost more than running it.
_TITLE_PACKAGE = (
    select(MediaPackage)
    .where(MediaPackage.title_id == bindparam("title_id"))
    .options(joinedload(MediaPackage.renditions))
)


def package_for_title(session: Session, title_id: str) -> MediaPackage | None:
    """The package of one title, if it has one."""
    # Its renditions in the same query: every caller reads them (a play, its manifests),
    # and a second SELECT cost a third more CPU than the join.
    return session.scalars(_TITLE_PACKAGE, {"title_id": title_id}).unique().one_or_none()
