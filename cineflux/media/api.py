"""Media HTTP API for the operator: encoding jobs and their progress."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query

from cineflux.media import service as media
from cineflux.media.schemas import JobRead
from cineflux.web.deps import DbDep, OperatorDep, PlatformDep

router = APIRouter(prefix="/api/media", tags=["media"])


@router.get("/jobs", response_model=list[JobRead])
def list_jobs(
    db: DbDep,
    platform: PlatformDep,
    _operator: OperatorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[JobRead]:
    """Recent encoding jobs, newest first, with progress and ETA."""
    return [
        JobRead(**asdict(media.job_progress(db, job.id, clock=platform.clock)))
        for job in media.list_jobs(db, limit=limit)
    ]


@router.get("/jobs/{job_id}", response_model=JobRead)
def get_job(job_id: str, db: DbDep, platform: PlatformDep, _operator: OperatorDep) -> JobRead:
    """One job's progress (percent done, ETA, playable yet)."""
    return JobRead(**asdict(media.job_progress(db, job_id, clock=platform.clock)))
