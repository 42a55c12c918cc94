"""Catalogue HTTP API: thin, read-only for subscribers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from cineflux.catalog import service as catalog
from cineflux.catalog.models import Title
from cineflux.catalog.schemas import PlaybackRead, RenditionRead, TitlePage, TitleRead
from cineflux.delivery.service import playback_urls
from cineflux.media import service as media
from cineflux.media.models import MediaPackage
from cineflux.web.deps import ApiUserDep, DbDep

router = APIRouter(prefix="/api/titles", tags=["catalogue"])


def _read(title: Title, package: MediaPackage | None) -> TitleRead:
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
    return TitleRead(
        id=title.id,
        name=title.name,
        year=title.year,
        created_at=title.created_at,
        duration_seconds=package.duration_seconds if package else None,
        playback=playback,
        renditions=renditions,
    )


@router.get("", response_model=TitlePage)
def list_titles(
    db: DbDep,
    _user: ApiUserDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TitlePage:
    """Titles, newest first."""
    titles = catalog.list_titles(db, limit=limit, offset=offset)
    packages = media.packages_by_title(db, (t.id for t in titles))
    return TitlePage(
        items=[_read(t, packages.get(t.id)) for t in titles], limit=limit, offset=offset
    )


@router.get("/{title_id}", response_model=TitleRead)
def get_title(title_id: str, db: DbDep, _user: ApiUserDep) -> TitleRead:
    """One title with its playback URLs and renditions."""
    title = catalog.get_title(db, title_id)
    return _read(title, media.package_for_title(db, title.id))
