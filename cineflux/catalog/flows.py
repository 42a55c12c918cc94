"""Catalogue use cases that need rights: home rows, search for a viewer, saving details.

A viewer only ever sees titles available to them: in their territory, at this instant, under
the SVOD licence, within their profile's age limit. The rows read the ``availability`` spans
that ``rights.service`` derives, so each row is one index range, not 100,000 decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, select
from sqlalchemy.orm import Session

from cineflux.catalog import search
from cineflux.catalog import service as catalog
from cineflux.catalog.models import Genre, Title, TitleLocalization
from cineflux.rights import service as rights
from cineflux.rights.chronology import RightsPolicy, paris_date
from cineflux.rights.models import OPEN_END, Availability

SOON = timedelta(days=30)
NEW = timedelta(days=30)
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


# A row first finds its title ids (one index range each), then every row's cards are read
# together, in two queries: rows cost their index scans, not one round trip per title.
Span = tuple[str, datetime | None, datetime | None]  # title id, opens, closes


@dataclass(frozen=True)
class _Plan:
    spans: list[Span]
    playable_only: bool = True


def _plan(rows: Sequence[Any], limit: int, playable_only: bool = True) -> _Plan:
    seen: set[str] = set()
    spans: list[Span] = []
    for row in rows:
        title_id = row[0]
        if title_id in seen:
            continue
        seen.add(title_id)
        opens = row[1] if len(row) > 1 else None
        closes = row[2] if len(row) > 2 else None
        spans.append((title_id, opens, None if closes == OPEN_END else closes))
    return _Plan(spans[: limit + _SPARE], playable_only)


# Fetched beyond a row's length, for titles left out because their media is not published.
_SPARE = 5


def _resolve(
    session: Session, viewer: Viewer, plans: dict[str, _Plan], limit: int = ROW_LENGTH
) -> dict[str, list[TitleCard]]:
    """Cards for every planned row; by default only titles with published media.

    A series is shown once it has windows: its episodes carry the media.
    """
    ids = list({span[0] for plan in plans.values() for span in plan.spans})
    if not ids:
        return {key: [] for key in plans}
    facts = {row.id: row for row in session.execute(_CARD_FACTS, {"ids": ids})}
    preference = [viewer.language, "en", "fr"]
    names: dict[str, tuple[int, str]] = {}
    for title_id, language, name in session.execute(
        _CARD_NAMES, {"ids": ids, "languages": preference}
    ):
        rank = preference.index(language)
        if title_id not in names or rank < names[title_id][0]:
            names[title_id] = (rank, name)
    resolved: dict[str, list[TitleCard]] = {}
    for key, plan in plans.items():
        cards: list[TitleCard] = []
        for title_id, opens, closes in plan.spans:
            row = facts.get(title_id)
            if row is None:
                continue
            if plan.playable_only and row.published_at is None and row.kind != "series":
                continue
            cards.append(
                TitleCard(
                    id=row.id,
                    name=names[title_id][1] if title_id in names else row.name,
                    year=row.year,
                    kind=row.kind,
                    age_rating=row.age_rating,
                    opens_at=opens,
                    closes_at=closes,
                )
            )
            if len(cards) == limit:
                break
        resolved[key] = cards
    return resolved


# The row queries are built once, with bound parameters: building SQLAlchemy expressions
# for every request cost more than SQLite spent running them.
_A = Availability
_OPEN_NOW = and_(
    _A.territory == bindparam("territory"),
    _A.license_type == bindparam("license_type"),
    _A.starts_at <= bindparam("at"),
    _A.ends_at > bindparam("at"),
    _A.minimum_age <= bindparam("max_age"),
)
_LIMIT = bindparam("limit", type_=Integer)
_NEW = (
    select(_A.title_id, _A.starts_at, _A.ends_at)
    .where(_OPEN_NOW, _A.starts_at > bindparam("new_since"))
    .order_by(_A.starts_at.desc())
    .limit(_LIMIT)
)
_CURRENT = _A.__table__.alias("current")
# Correlated on the title index: "not available now" reads a few index entries per
# candidate, never the whole territory.
_AVAILABLE_NOW_ELSEWHERE = (
    select(_CURRENT.c.id)
    .where(
        _CURRENT.c.title_id == _A.title_id,
        _CURRENT.c.territory == bindparam("territory"),
        _CURRENT.c.license_type == bindparam("license_type"),
        _CURRENT.c.starts_at <= bindparam("at"),
        _CURRENT.c.ends_at > bindparam("at"),
    )
    .exists()
)
_COMING_SOON = (
    select(_A.title_id, _A.starts_at, _A.ends_at)
    .where(
        _A.territory == bindparam("territory"),
        _A.license_type == bindparam("license_type"),
        _A.starts_at > bindparam("at"),
        _A.starts_at <= bindparam("soon"),
        _A.minimum_age <= bindparam("max_age"),
        ~_AVAILABLE_NOW_ELSEWHERE,
    )
    .order_by(_A.starts_at)
    .limit(_LIMIT)
)
_LEAVING_SOON = (
    select(_A.title_id, _A.starts_at, _A.ends_at)
    .where(
        _A.territory == bindparam("territory"),
        _A.license_type == bindparam("license_type"),
        _A.ends_at > bindparam("at"),
        _A.ends_at <= bindparam("soon"),
        _A.starts_at <= bindparam("at"),
        _A.minimum_age <= bindparam("max_age"),
    )
    .order_by(_A.ends_at)
    .limit(_LIMIT)
)
_BY_KIND = (
    select(_A.title_id)
    .where(_OPEN_NOW, _A.kind == bindparam("kind"))
    .order_by(_A.starts_at.desc())
    .limit(_LIMIT)
)
_BY_GENRE = (
    select(_A.title_id)
    .where(_OPEN_NOW, _A.genres.contains(bindparam("genre_marker", type_=String)))
    .order_by(_A.starts_at.desc())
    .limit(_LIMIT)
)
_AVAILABLE_AMONG = select(_A.title_id).where(
    _A.title_id.in_(bindparam("ids", expanding=True)), _OPEN_NOW
)
_CARD_FACTS = select(
    Title.id, Title.name, Title.year, Title.kind, Title.age_rating, Title.published_at
).where(Title.id.in_(bindparam("ids", expanding=True)))
_CARD_NAMES = select(
    TitleLocalization.title_id, TitleLocalization.language, TitleLocalization.name
).where(
    TitleLocalization.title_id.in_(bindparam("ids", expanding=True)),
    TitleLocalization.language.in_(bindparam("languages", expanding=True)),
)
# Older than any rating: "no age limit" without a second version of every query.
_NO_AGE_LIMIT = 99


def _params(viewer: Viewer, limit: int) -> dict[str, Any]:
    return {
        "territory": viewer.territory,
        "license_type": viewer.license_type,
        "at": viewer.at,
        "max_age": _NO_AGE_LIMIT if viewer.max_age is None else viewer.max_age,
        "limit": limit + _SPARE,
        "new_since": viewer.at - NEW,
        "soon": viewer.at + SOON,
    }


def _new_plan(session: Session, viewer: Viewer, limit: int) -> _Plan:
    return _plan(session.execute(_NEW, _params(viewer, limit)).all(), limit)


def _coming_soon_plan(session: Session, viewer: Viewer, limit: int) -> _Plan:
    rows = session.execute(_COMING_SOON, _params(viewer, limit)).all()
    return _plan(rows, limit, playable_only=False)


def _leaving_soon_plan(session: Session, viewer: Viewer, limit: int) -> _Plan:
    return _plan(session.execute(_LEAVING_SOON, _params(viewer, limit)).all(), limit)


def _genre_plan(session: Session, viewer: Viewer, genre: str, limit: int) -> _Plan:
    params = {**_params(viewer, limit), "genre_marker": f",{genre},"}
    return _plan(session.execute(_BY_GENRE, params).all(), limit)


def _kind_plan(session: Session, viewer: Viewer, kind: str, limit: int) -> _Plan:
    params = {**_params(viewer, limit), "kind": kind}
    return _plan(session.execute(_BY_KIND, params).all(), limit)


def _top10_plan(session: Session, viewer: Viewer) -> _Plan:
    ranked = catalog.top_titles(session, territory=viewer.territory, day=paris_date(viewer.at))
    if not ranked:
        return _Plan([])
    params = {**_params(viewer, 10), "ids": ranked}
    allowed = set(session.scalars(_AVAILABLE_AMONG, params))
    return _plan([(title_id,) for title_id in ranked if title_id in allowed], 10)


def new_row(session: Session, viewer: Viewer, limit: int = ROW_LENGTH) -> list[TitleCard]:
    """Titles that arrived in the last 30 days and are available now, newest first."""
    return _resolve(session, viewer, {"r": _new_plan(session, viewer, limit)}, limit)["r"]


def coming_soon_row(session: Session, viewer: Viewer, limit: int = ROW_LENGTH) -> list[TitleCard]:
    """Titles not available now that open within 30 days, soonest first."""
    plan = _coming_soon_plan(session, viewer, limit)
    return _resolve(session, viewer, {"r": plan}, limit)["r"]


def leaving_soon_row(session: Session, viewer: Viewer, limit: int = ROW_LENGTH) -> list[TitleCard]:
    """Titles available now whose availability ends within 30 days, soonest first."""
    plan = _leaving_soon_plan(session, viewer, limit)
    return _resolve(session, viewer, {"r": plan}, limit)["r"]


def genre_row(
    session: Session, viewer: Viewer, genre: str, limit: int = ROW_LENGTH
) -> list[TitleCard]:
    """Titles of a genre available now, the most recently arrived first."""
    plan = _genre_plan(session, viewer, genre, limit)
    return _resolve(session, viewer, {"r": plan}, limit)["r"]


def kind_row(
    session: Session, viewer: Viewer, kind: str, limit: int = ROW_LENGTH
) -> list[TitleCard]:
    """Films or series available now, the most recently arrived first."""
    plan = _kind_plan(session, viewer, kind, limit)
    return _resolve(session, viewer, {"r": plan}, limit)["r"]


def top10_row(session: Session, viewer: Viewer) -> list[TitleCard]:
    """The ten most played titles of the territory's latest daily ranking, available now."""
    return _resolve(session, viewer, {"r": _top10_plan(session, viewer)}, 10)["r"]


def home_rows(session: Session, viewer: Viewer) -> list[HomeRow]:
    """The home screen: Top 10, New, Coming soon, Leaving soon, Films, Series, then genres.

    Empty rows are left out.
    """
    labels = _labels(viewer.language)
    plans = {
        "top10": _top10_plan(session, viewer),
        "new": _new_plan(session, viewer, ROW_LENGTH),
        "coming_soon": _coming_soon_plan(session, viewer, ROW_LENGTH),
        "leaving_soon": _leaving_soon_plan(session, viewer, ROW_LENGTH),
        "movies": _kind_plan(session, viewer, "movie", ROW_LENGTH),
        "series": _kind_plan(session, viewer, "series", ROW_LENGTH),
    }
    titles = {
        "top10": labels["top10"].format(country=viewer.territory),
        "new": labels["new"],
        "coming_soon": labels["coming_soon"],
        "leaving_soon": labels["leaving_soon"],
        "movies": labels["movie"],
        "series": labels["series"],
    }
    genre_rows = 0
    for slug, name_fr, name_en in session.execute(
        select(Genre.slug, Genre.name_fr, Genre.name_en).order_by(Genre.slug)
    ):
        plan = _genre_plan(session, viewer, slug, ROW_LENGTH)
        if plan.spans:
            plans[f"genre:{slug}"] = plan
            titles[f"genre:{slug}"] = name_fr if viewer.language == "fr" else name_en
            genre_rows += 1
            if genre_rows == GENRE_ROWS:
                break
    resolved = _resolve(session, viewer, plans)
    resolved["top10"] = resolved["top10"][:10]
    return [HomeRow(key, titles[key], cards) for key, cards in resolved.items() if cards]


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
    return _resolve(session, viewer, {"r": _plan([(i,) for i in ids], limit)}, limit)["r"]


def save_details(
    session: Session, *, policy: RightsPolicy, title_id: str, details: catalog.TitleDetails
) -> Title:
    """Replace a title's details, then refresh what depends on them: rights and search."""
    title = catalog.set_details(session, title_id, details)
    rights.refresh_availability(session, policy=policy, title_ids=[title_id])
    search.refresh_search_document(session, title_id)
    return title
