"""Catalogue HTTP API: thin, read-only for subscribers, scoped to what the viewer may watch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from cineflux.catalog import flows
from cineflux.catalog import service as catalog
from cineflux.catalog.models import Title
from cineflux.catalog.schemas import (
    ArtworkRead,
    AvailabilityRead,
    CreditRead,
    HomeRead,
    HomeRowRead,
    PlaybackRead,
    RenditionRead,
    TitleCardRead,
    TitlePage,
    TitleRead,
)
from cineflux.delivery.service import playback_urls
from cineflux.media import service as media
from cineflux.media.models import MediaPackage
from cineflux.platform import Platform
from cineflux.rights import service as rights
from cineflux.web.deps import ApiUserDep, DbDep, PlatformDep, ViewerDep
from cineflux.web.problems import Problem

router = APIRouter(prefix="/api", tags=["catalogue"])


def _read(
    session: Session,
    title: Title,
    package: MediaPackage | None,
    viewer: flows.Viewer,
    availability: AvailabilityRead | None = None,
) -> TitleRead:
    playback = None
    renditions: list[RenditionRead] = []
    if package is not None:
        urls = playback_urls(package)
        playback = PlaybackRead(dash=urls.dash, hls=urls.hls, poster=urls.poster)
        renditions = [
            RenditionRead(
                kind=r.kind, codecs=r.codecs, bandwidth=r.bandwidth, width=r.width, height=r.height
            )
            for r in package.renditions
        ]
    name, synopsis = catalog.localized(title, viewer.language)
    return TitleRead(
        id=title.id,
        kind=title.kind,
        name=name,
        synopsis=synopsis,
        year=title.year,
        age_rating=title.age_rating,
        original_language=title.original_language,
        genres=flows.genre_names(session, title, viewer.language),
        credits=[
            CreditRead(name=name, role=role, character=character)
            for name, role, character in catalog.credits_of(session, title.id)
        ],
        artwork=[
            ArtworkRead(kind=a.kind, url=a.url, language=a.language, width=a.width, height=a.height)
            for a in catalog.artwork_of(session, title.id)
        ],
        created_at=title.created_at,
        duration_seconds=package.duration_seconds if package else None,
        availability=availability,
        playback=playback,
        renditions=renditions,
    )


def _card(card: flows.TitleCard, posters: dict[str, str]) -> TitleCardRead:
    return TitleCardRead(
        id=card.id,
        name=card.name,
        year=card.year,
        kind=card.kind,
        age_rating=card.age_rating,
        opens_at=card.opens_at,
        closes_at=card.closes_at,
        poster=posters.get(card.id),
    )


def _posters(session: Session, cards: list[flows.TitleCard]) -> dict[str, str]:
    packages = media.packages_by_title(session, (c.id for c in cards))
    return {title_id: playback_urls(p).poster for title_id, p in packages.items()}


@router.get("/home", response_model=HomeRead)
def home(db: DbDep, _user: ApiUserDep, viewer: ViewerDep) -> HomeRead:
    """The viewer's home rows: Top 10, new, coming soon, leaving soon, films, series, genres."""
    rows = flows.home_rows(db, viewer)
    posters = _posters(db, [c for row in rows for c in row.items])
    return HomeRead(
        territory=viewer.territory,
        rows=[
            HomeRowRead(key=r.key, title=r.title, items=[_card(c, posters) for c in r.items])
            for r in rows
        ],
    )


@router.get("/search", response_model=list[TitleCardRead])
def search(
    db: DbDep,
    _user: ApiUserDep,
    viewer: ViewerDep,
    q: Annotated[str, Query(max_length=200, description="words; the last one is a prefix")],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> list[TitleCardRead]:
    """Titles the viewer may watch that match ``q``, best first."""
    cards = flows.search_for_viewer(db, viewer, q, limit=limit)
    posters = _posters(db, cards)
    return [_card(c, posters) for c in cards]


@router.get("/titles", response_model=TitlePage)
def list_titles(
    db: DbDep,
    _user: ApiUserDep,
    viewer: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TitlePage:
    """Published titles available to the viewer now, newest first."""
    titles = catalog.list_titles(
        db,
        limit=limit,
        offset=offset,
        among=rights.available_title_ids(
            viewer.territory, viewer.at, license_type=viewer.license_type, max_age=viewer.max_age
        ),
    )
    packages = media.packages_by_title(db, (t.id for t in titles))
    return TitlePage(
        items=[_read(db, t, packages.get(t.id), viewer) for t in titles], limit=limit, offset=offset
    )


def _availability(
    db: Session, platform: Platform, viewer: flows.Viewer, title_id: str
) -> AvailabilityRead:
    decision = rights.decide(
        db,
        policy=rights.rights_policy(db, platform.settings.platform_profile),
        title_id=title_id,
        territory=viewer.territory,
        license_type=viewer.license_type,
        at=viewer.at,
    )
    if not decision.available and decision.opens_at is None:
        raise Problem(404, "Not available", "this title is not available in your country")
    return AvailabilityRead(
        territory=viewer.territory,
        available=decision.available,
        opens_at=decision.opens_at,
        closes_at=decision.closes_at,
        format_cap=decision.format_cap,
    )


@router.get("/titles/{title_id}", response_model=TitleRead)
def get_title(
    title_id: str, db: DbDep, platform: PlatformDep, _user: ApiUserDep, viewer: ViewerDep
) -> TitleRead:
    """One title with its availability here, playback URLs and renditions."""
    title = catalog.get_title(db, title_id)
    if flows.above_profile_limit(viewer, title):
        raise Problem(403, "Not for this profile", "this title is above the profile's age limit")
    availability = _availability(db, platform, viewer, title.id)
    package = media.package_for_title(db, title.id)
    return _read(db, title, package, viewer, availability)
