"""Catalogue use cases that need rights: home rows, search for a viewer, saving details.

A viewer only ever sees titles available to them: in their territory, at this instant, under
the SVOD licence, within their profile's age limit. The rows read the ``availability`` spans
that ``rights.service`` derives, so each row is one index range, not 100,000 decisions.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from cineflux.catalog import search
from cineflux.catalog import service as catalog
from cineflux.catalog.models import Genre, Title, TitleLocalization, TopTitle
from cineflux.db import UTCDateTime
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
    limit: int = ROW_LENGTH


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
    return _Plan(spans[: limit + _SPARE], playable_only, limit)


# Fetched beyond a row's length, for titles left out because their media is not published.
_SPARE = 5


def _facts(session: Session, viewer: Viewer, ids: list[str]) -> dict[str, Any]:
    fallbacks = {"language": viewer.language, "second": "en", "third": "fr"}
    return {row.id: row for row in session.execute(_CARD_FACTS, {"ids": ids, **fallbacks})}


def _resolve(
    session: Session, viewer: Viewer, plans: dict[str, _Plan]
) -> dict[str, list[TitleCard]]:
    """Cards for every planned row; by default only titles with published media.

    A series is shown once it has windows: its episodes carry the media. The first
    ``limit`` titles of every row are read at once; the spares only when a row fell short.
    """
    wanted = {span[0] for plan in plans.values() for span in plan.spans[: plan.limit]}
    if not wanted:
        return {key: [] for key in plans}
    facts = _facts(session, viewer, list(wanted))
    resolved: dict[str, list[TitleCard]] = {}
    for key, plan in plans.items():
        spans = plan.spans
        missing = [span[0] for span in spans[plan.limit :] if span[0] not in facts]
        if missing and _short(plan, facts):
            facts.update(_facts(session, viewer, missing))
        cards: list[TitleCard] = []
        for title_id, opens, closes in spans:
            row = facts.get(title_id)
            if row is None or (plan.playable_only and not row.published and row.kind != "series"):
                continue
            cards.append(
                TitleCard(
                    id=row.id,
                    name=row.local_name or row.name,
                    year=row.year,
                    kind=row.kind,
                    age_rating=row.age_rating,
                    opens_at=opens,
                    closes_at=closes,
                )
            )
            if len(cards) == plan.limit:
                break
        resolved[key] = cards
    return resolved


def _short(plan: _Plan, facts: dict[str, Any]) -> bool:
    """Whether the row's first titles leave it short of its length (unpublished ones)."""
    shown = 0
    for title_id, _opens, _closes in plan.spans[: plan.limit]:
        row = facts.get(title_id)
        if row is not None and (not plan.playable_only or row.published or row.kind == "series"):
            shown += 1
    return shown < plan.limit


AnySelect = Select[*tuple[Any, ...]]

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
_LOCALIZED = TitleLocalization.__table__.alias("localized")


def _name_in(language: str) -> Any:
    return (
        select(_LOCALIZED.c.name)
        .where(_LOCALIZED.c.title_id == Title.id, _LOCALIZED.c.language == bindparam(language))
        .scalar_subquery()
    )


# The viewer's language, else English, else French, else the original name.
_CARD_FACTS = select(
    Title.id,
    Title.name,
    Title.year,
    Title.kind,
    Title.age_rating,
    Title.published_at.is_not(None).label("published"),
    func.coalesce(_name_in("language"), _name_in("second"), _name_in("third")).label("local_name"),
).where(Title.id.in_(bindparam("ids", expanding=True)))
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
    # The same query as the home statement's Top 10 part.
    params = {**_params(viewer, 10), "today": paris_date(viewer.at)}
    return _plan([(row.title_id,) for row in session.execute(_TOP10, params)], 10)


def new_row(session: Session, viewer: Viewer, limit: int = ROW_LENGTH) -> list[TitleCard]:
    """Titles that arrived in the last 30 days and are available now, newest first."""
    return _resolve(session, viewer, {"r": _new_plan(session, viewer, limit)})["r"]


def coming_soon_row(session: Session, viewer: Viewer, limit: int = ROW_LENGTH) -> list[TitleCard]:
    """Titles not available now that open within 30 days, soonest first."""
    plan = _coming_soon_plan(session, viewer, limit)
    return _resolve(session, viewer, {"r": plan})["r"]


def leaving_soon_row(session: Session, viewer: Viewer, limit: int = ROW_LENGTH) -> list[TitleCard]:
    """Titles available now whose availability ends within 30 days, soonest first."""
    plan = _leaving_soon_plan(session, viewer, limit)
    return _resolve(session, viewer, {"r": plan})["r"]


def genre_row(
    session: Session, viewer: Viewer, genre: str, limit: int = ROW_LENGTH
) -> list[TitleCard]:
    """Titles of a genre available now, the most recently arrived first."""
    plan = _genre_plan(session, viewer, genre, limit)
    return _resolve(session, viewer, {"r": plan})["r"]


def kind_row(
    session: Session, viewer: Viewer, kind: str, limit: int = ROW_LENGTH
) -> list[TitleCard]:
    """Films or series available now, the most recently arrived first."""
    plan = _kind_plan(session, viewer, kind, limit)
    return _resolve(session, viewer, {"r": plan})["r"]


def top10_row(session: Session, viewer: Viewer) -> list[TitleCard]:
    """The ten most played titles of the territory's latest daily ranking, available now."""
    return _resolve(session, viewer, {"r": _top10_plan(session, viewer)})["r"]


def _as_part(
    key: str, statement: AnySelect, order: str, *, descending: bool = False, dated: bool = False
) -> AnySelect:
    """One row's query in the shape every part of the home statement shares.

    Its titles come numbered in the row's order (over the 25 rows the part kept, so cheap);
    only rows that show a date return their spans.
    """
    part = statement.subquery()
    column = part.c[order]
    ordinal = func.row_number().over(order_by=column.desc() if descending else column)
    return select(
        literal(key).label("row"),
        part.c.title_id,
        ordinal.label("ordinal"),
        part.c.starts_at if dated else cast(null(), UTCDateTime()).label("starts_at"),
        part.c.ends_at if dated else cast(null(), UTCDateTime()).label("ends_at"),
    )


_LATEST_RANKING = (
    select(func.max(TopTitle.day))
    .where(TopTitle.territory == bindparam("territory"), TopTitle.day <= bindparam("today"))
    .scalar_subquery()
)
_TOP10 = (
    select(TopTitle.title_id, TopTitle.rank)
    .join(_A, _A.title_id == TopTitle.title_id)
    .where(TopTitle.territory == bindparam("territory"), TopTitle.day == _LATEST_RANKING, _OPEN_NOW)
    .order_by(TopTitle.rank)
    .limit(10 + _SPARE)
)


def _recent_matching(condition: ColumnElement[bool]) -> AnySelect:
    return (
        select(_A.title_id, _A.starts_at)
        .where(_OPEN_NOW, condition)
        .order_by(_A.starts_at.desc())
        .limit(_LIMIT)
    )


def _genre_part(slug: str) -> AnySelect:
    statement = _recent_matching(_A.genres.contains(f",{slug},"))
    return _as_part(f"genre:{slug}", statement, "starts_at", descending=True)


@functools.lru_cache(maxsize=8)
def _home_statement(genres: tuple[str, ...]) -> CompoundSelect[Any]:
    """Every row of the home screen in one statement: one round trip to the database."""
    parts = [
        _as_part("top10", _TOP10, "rank"),
        _as_part("new", _NEW, "starts_at", descending=True),
        _as_part("coming_soon", _COMING_SOON, "starts_at", dated=True),
        _as_part("leaving_soon", _LEAVING_SOON, "ends_at", dated=True),
        _as_part("movies", _recent_matching(_A.kind == "movie"), "starts_at", descending=True),
        _as_part("series", _recent_matching(_A.kind == "series"), "starts_at", descending=True),
        *(_genre_part(slug) for slug in genres),
    ]
    return union_all(*parts)


@functools.lru_cache(maxsize=8)
def _genres_statement(genres: tuple[str, ...]) -> CompoundSelect[Any]:
    return union_all(*(_genre_part(slug) for slug in genres))


def _home_genres(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(select(Genre.slug, Genre.name_fr, Genre.name_en).order_by(Genre.slug))
    return [(slug, fr, en) for slug, fr, en in rows]


def home_rows(session: Session, viewer: Viewer) -> list[HomeRow]:
    """The home screen: Top 10, New, Coming soon, Leaving soon, Films, Series, then genres.

    Empty rows are left out; genre rows are the first eight with something to show (asked
    for eight at a time, so a large catalogue answers in one statement).
    """
    labels = _labels(viewer.language)
    genres = _home_genres(session)
    params = {**_params(viewer, ROW_LENGTH), "today": paris_date(viewer.at)}
    found: dict[str, list[Any]] = defaultdict(list)
    asked = tuple(slug for slug, _, _ in genres[:GENRE_ROWS])
    for row in session.execute(_home_statement(asked), params):
        found[row.row].append(row)
    while sum(key.startswith("genre:") for key in found) < GENRE_ROWS and len(asked) < len(genres):
        more = tuple(slug for slug, _, _ in genres[len(asked) : len(asked) + GENRE_ROWS])
        asked += more
        for row in session.execute(_genres_statement(more), params):
            found[row.row].append(row)
    titles = {
        "top10": labels["top10"].format(country=viewer.territory),
        "new": labels["new"],
        "coming_soon": labels["coming_soon"],
        "leaving_soon": labels["leaving_soon"],
        "movies": labels["movie"],
        "series": labels["series"],
    }
    for slug, name_fr, name_en in genres:
        if f"genre:{slug}" in found and len(titles) < 6 + GENRE_ROWS:
            titles[f"genre:{slug}"] = name_fr if viewer.language == "fr" else name_en
    plans: dict[str, _Plan] = {}
    for key in titles:
        rows = sorted(found[key], key=lambda r: r.ordinal)
        limit = 10 if key == "top10" else ROW_LENGTH
        spans = [(r.title_id, r.starts_at, r.ends_at) for r in rows]
        plans[key] = _plan(spans, limit, playable_only=key != "coming_soon")
    resolved = _resolve(session, viewer, plans)
    return [HomeRow(key, titles[key], cards) for key, cards in resolved.items() if cards]


def above_profile_limit(viewer: Viewer, title: Title) -> bool:
    """Whether a title is rated above what the viewer's profile may see."""
    return viewer.max_age is not None and catalog.minimum_age(title.age_rating) > viewer.max_age


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
    return _resolve(session, viewer, {"r": _plan([(i,) for i in ids], limit)})["r"]


def save_details(
    session: Session, *, policy: RightsPolicy, title_id: str, details: catalog.TitleDetails
) -> Title:
    """Replace a title's details (and its search document), then its availability."""
    title = catalog.set_details(session, title_id, details)
    rights.refresh_availability(session, policy=policy, title_ids=[title_id])
    return title
