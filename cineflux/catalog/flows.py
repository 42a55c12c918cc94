"""Catalogue use cases that need rights: home rows, search for a viewer, saving details.

A viewer only ever sees titles available to them: in their territory, at this instant, under
the SVOD licence, within their profile's age limit. The rows read the ``availability`` spans
that ``rights.service`` derives, so each row is one index range, not 100,000 decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from cineflux.catalog import search
from cineflux.catalog import service as catalog
from cineflux.catalog.models import Genre, Title, TitleGenre, TitlePlays
from cineflux.rights import service as rights
from cineflux.rights.chronology import RightsPolicy, paris_date
from cineflux.rights.models import OPEN_END, Availability

SOON = timedelta(days=30)
NEW = timedelta(days=30)
TOP_PERIOD = timedelta(days=7)
ROW_LENGTH = 20
GENRE_ROWS = 8


@dataclass(frozen=True)
class Viewer:
    """Who is browsing: the catalogue territory, the instant, the profile's limits."""

    territory: str
    at: datetime
    max_age: int | None = None  # None: no limit (an adult profile)
    language: str = "fr"
    license_type: str = "SVOD"


@dataclass(frozen=True)
class TitleCard:
    """A title as a row shows it."""

    id: str
    name: str
    year: int | None
    kind: str
    age_rating: str
    opens_at: datetime | None = None
    closes_at: datetime | None = None


@dataclass(frozen=True)
class HomeRow:
    """One row of the home screen."""

    key: str
    title: str
    items: list[TitleCard]


_ROW_TITLES = {
    "fr": {
        "top10": "Top 10 en {country}",
        "new": "Nouveautés",
        "coming_soon": "Bientôt disponible",
        "leaving_soon": "Dernière chance",
        "movie": "Films",
        "series": "Séries",
    },
    "en": {
        "top10": "Top 10 in {country}",
        "new": "New",
        "coming_soon": "Coming soon",
        "leaving_soon": "Leaving soon",
        "movie": "Films",
        "series": "Series",
    },
}


def _labels(language: str) -> dict[str, str]:
    return _ROW_TITLES.get(language, _ROW_TITLES["en"])


def _age_ok(viewer: Viewer) -> list[ColumnElement[bool]]:
    if viewer.max_age is None:
        return []
    return [Availability.minimum_age <= viewer.max_age]


def _cards(
    session: Session,
    viewer: Viewer,
    ids: Sequence[str],
    spans: dict[str, tuple[datetime, datetime]] | None = None,
    *,
    playable_only: bool = True,
) -> list[TitleCard]:
    """Cards in the order of ``ids``; by default only titles with published media.

    A series is shown once it has windows: its episodes carry the media.
    """
    if not ids:
        return []
    titles = {t.id: t for t in session.scalars(select(Title).where(Title.id.in_(ids)))}
    cards = []
    for title_id in ids:
        title = titles.get(title_id)
        if title is None:
            continue
        if playable_only and title.published_at is None and title.kind != "series":
            continue
        name, _synopsis = catalog.localized(title, viewer.language)
        opens, closes = spans.get(title_id, (None, None)) if spans else (None, None)
        cards.append(
            TitleCard(
                id=title.id,
                name=name,
                year=title.year,
                kind=title.kind,
                age_rating=title.age_rating,
                opens_at=opens,
                closes_at=None if closes == OPEN_END else closes,
            )
        )
    return cards


def _unique(
    rows: Sequence[tuple[str, datetime, datetime]], limit: int
) -> list[tuple[str, datetime, datetime]]:
    seen: set[str] = set()
    kept = []
    for row in rows:
        if row[0] not in seen:
            seen.add(row[0])
            kept.append(row)
    return kept[:limit]


def new_row(session: Session, viewer: Viewer, limit: int = ROW_LENGTH) -> list[TitleCard]:
    """Titles that arrived in the last 30 days and are available now, newest first."""
    rows = session.execute(
        select(Availability.title_id, Availability.starts_at, Availability.ends_at)
        .where(
            rights.available_now(viewer.territory, viewer.at, license_type=viewer.license_type),
            Availability.starts_at > viewer.at - NEW,
            *_age_ok(viewer),
        )
        .order_by(Availability.starts_at.desc())
        .limit(limit)
    ).all()
    kept = _unique([(r[0], r[1], r[2]) for r in rows], limit)
    return _cards(session, viewer, [r[0] for r in kept], {r[0]: (r[1], r[2]) for r in kept})


def coming_soon_row(session: Session, viewer: Viewer, limit: int = ROW_LENGTH) -> list[TitleCard]:
    """Titles not available now that open within 30 days, soonest first."""
    available_now = rights.available_title_ids(
        viewer.territory, viewer.at, license_type=viewer.license_type
    )
    rows = session.execute(
        select(Availability.title_id, Availability.starts_at, Availability.ends_at)
        .where(
            rights.opening_between(
                viewer.territory, viewer.at, viewer.at + SOON, license_type=viewer.license_type
            ),
            Availability.title_id.not_in(available_now),
            *_age_ok(viewer),
        )
        .order_by(Availability.starts_at)
        .limit(limit * 2)
    ).all()
    kept = _unique([(r[0], r[1], r[2]) for r in rows], limit)
    spans = {r[0]: (r[1], r[2]) for r in kept}
    return _cards(session, viewer, [r[0] for r in kept], spans, playable_only=False)


def leaving_soon_row(session: Session, viewer: Viewer, limit: int = ROW_LENGTH) -> list[TitleCard]:
    """Titles available now whose availability ends within 30 days, soonest first."""
    rows = session.execute(
        select(Availability.title_id, Availability.starts_at, Availability.ends_at)
        .where(
            rights.closing_between(
                viewer.territory, viewer.at, viewer.at + SOON, license_type=viewer.license_type
            ),
            *_age_ok(viewer),
        )
        .order_by(Availability.ends_at)
        .limit(limit)
    ).all()
    kept = _unique([(r[0], r[1], r[2]) for r in rows], limit)
    return _cards(session, viewer, [r[0] for r in kept], {r[0]: (r[1], r[2]) for r in kept})


def genre_row(
    session: Session, viewer: Viewer, genre: str, limit: int = ROW_LENGTH
) -> list[TitleCard]:
    """Titles of a genre available now, the most recently arrived first."""
    rows = session.execute(
        select(Availability.title_id)
        .join(TitleGenre, TitleGenre.title_id == Availability.title_id)
        .where(
            rights.available_now(viewer.territory, viewer.at, license_type=viewer.license_type),
            TitleGenre.genre_slug == genre,
            *_age_ok(viewer),
        )
        .order_by(Availability.starts_at.desc())
        .limit(limit)
    ).all()
    return _cards(session, viewer, list(dict.fromkeys(r[0] for r in rows)))


def kind_row(
    session: Session, viewer: Viewer, kind: str, limit: int = ROW_LENGTH
) -> list[TitleCard]:
    """Films or series available now, the most recently arrived first."""
    rows = session.execute(
        select(Availability.title_id)
        .join(Title, Title.id == Availability.title_id)
        .where(
            rights.available_now(viewer.territory, viewer.at, license_type=viewer.license_type),
            Title.kind == kind,
            *_age_ok(viewer),
        )
        .order_by(Availability.starts_at.desc())
        .limit(limit)
    ).all()
    return _cards(session, viewer, list(dict.fromkeys(r[0] for r in rows)))


def top10_row(session: Session, viewer: Viewer) -> list[TitleCard]:
    """The ten titles most played in the territory over the last seven days, available now."""
    today = paris_date(viewer.at)
    since = today - TOP_PERIOD
    plays = (
        select(TitlePlays.title_id, func.sum(TitlePlays.plays).label("plays"))
        .where(
            TitlePlays.territory == viewer.territory,
            TitlePlays.day > since,
            TitlePlays.day <= today,
        )
        .group_by(TitlePlays.title_id)
        .subquery()
    )
    rows = session.execute(
        select(plays.c.title_id)
        .join(Availability, Availability.title_id == plays.c.title_id)
        .where(
            rights.available_now(viewer.territory, viewer.at, license_type=viewer.license_type),
            *_age_ok(viewer),
        )
        .order_by(plays.c.plays.desc(), plays.c.title_id)
        .limit(10)
    ).all()
    return _cards(session, viewer, [r[0] for r in rows])


def home_rows(session: Session, viewer: Viewer) -> list[HomeRow]:
    """The home screen: Top 10, New, Coming soon, Leaving soon, Films, Series, then genres.

    Empty rows are left out.
    """
    labels = _labels(viewer.language)
    rows = [
        HomeRow(
            "top10", labels["top10"].format(country=viewer.territory), top10_row(session, viewer)
        ),
        HomeRow("new", labels["new"], new_row(session, viewer)),
        HomeRow("coming_soon", labels["coming_soon"], coming_soon_row(session, viewer)),
        HomeRow("leaving_soon", labels["leaving_soon"], leaving_soon_row(session, viewer)),
        HomeRow("movies", labels["movie"], kind_row(session, viewer, "movie")),
        HomeRow("series", labels["series"], kind_row(session, viewer, "series")),
    ]
    for genre in session.scalars(select(Genre).order_by(Genre.slug)):
        if sum(1 for row in rows if row.key.startswith("genre:")) >= GENRE_ROWS:
            break
        items = genre_row(session, viewer, genre.slug)
        if items:
            name = genre.name_fr if viewer.language == "fr" else genre.name_en
            rows.append(HomeRow(f"genre:{genre.slug}", name, items))
    return [row for row in rows if row.items]


def genre_names(session: Session, title: Title, language: str) -> list[str]:
    """A title's genres, named in the viewer's language."""
    slugs = [g.genre_slug for g in title.genres]
    if not slugs:
        return []
    found = session.scalars(select(Genre).where(Genre.slug.in_(slugs)).order_by(Genre.slug))
    return [g.name_fr if language == "fr" else g.name_en for g in found]


def search_for_viewer(
    session: Session, viewer: Viewer, text: str, *, limit: int = ROW_LENGTH
) -> list[TitleCard]:
    """Titles matching ``text`` among those the viewer may watch now."""
    allowed = rights.available_title_ids(
        viewer.territory, viewer.at, license_type=viewer.license_type, max_age=viewer.max_age
    )
    ids = search.search_titles(session, text, restrict_to=allowed, limit=limit)
    return _cards(session, viewer, ids)


def save_details(
    session: Session, *, policy: RightsPolicy, title_id: str, details: catalog.TitleDetails
) -> Title:
    """Replace a title's details, then refresh what depends on them: rights and search."""
    title = catalog.set_details(session, title_id, details)
    rights.refresh_availability(session, policy=policy, title_ids=[title_id])
    search.refresh_search_document(session, title_id)
    return title
