"""API shapes of the media domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class JobRead(BaseModel):
    """An encoding job's state and progress."""

    id: str
    title_id: str
    state: str
    progress: float
    eta_seconds: float | None
    playable: bool
    tasks_total: int
    tasks_done: int
    error: str | None
    created_at: datetime
    playable_at: datetime | None
    finished_at: datetime | None
