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


class AvailabilityRead(BaseModel):
    """Whether the viewer may watch the title here, and until or from when."""

    territory: str
    available: bool
    opens_at: datetime | None
    closes_at: datetime | None
    format_cap: str | None


class ArtworkRead(BaseModel):
    """An image of the title."""

    kind: str
    url: str
    language: str | None
    width: int | None
    height: int | None


class CreditRead(BaseModel):
    """A person's part in the title."""

    name: str
    role: str
    character: str | None


class TitleRead(BaseModel):
    """A title as the API shows it, in the viewer's language."""

    id: str
    kind: str
    name: str
    synopsis: str
    year: int | None
    age_rating: str
    original_language: str | None
    genres: list[str]
    credits: list[CreditRead]
    artwork: list[ArtworkRead]
    created_at: datetime
    duration_seconds: float | None
    availability: AvailabilityRead | None
    playback: PlaybackRead | None
    renditions: list[RenditionRead]


class TitlePage(BaseModel):
    """A page of titles."""

    items: list[TitleRead]
    limit: int
    offset: int


class TitleCardRead(BaseModel):
    """A title in a row or a search result."""

    id: str
    name: str
    year: int | None
    kind: str
    age_rating: str
    opens_at: datetime | None
    closes_at: datetime | None
    poster: str | None


class HomeRowRead(BaseModel):
    """One row of the home screen."""

    key: str
    title: str
    items: list[TitleCardRead]


class HomeRead(BaseModel):
    """The home screen for the viewer's territory."""

    territory: str
    rows: list[HomeRowRead]
