"""API shapes of the catalogue."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class RenditionRead(BaseModel):
    """One representation a player can choose."""

    kind: str
    codecs: str
    bandwidth: int
    width: int | None
    height: int | None


class PlaybackRead(BaseModel):
    """Where to play a title from."""

    dash: str
    hls: str
    poster: str


class TitleRead(BaseModel):
    """A title as the API shows it."""

    id: str
    name: str
    year: int | None
    created_at: datetime
    duration_seconds: float | None
    playback: PlaybackRead | None
    renditions: list[RenditionRead]


class TitlePage(BaseModel):
    """A page of titles."""

    items: list[TitleRead]
    limit: int
    offset: int
