"""Catalogue: registering and listing titles."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.util import identity_key

from cineflux.catalog import search
from cineflux.catalog.episodes import EpisodeRef, following_episode
from cineflux.catalog.models import (
    AGE_RATINGS,
    TITLE_KINDS,
    Artwork,
    Credit,
    Genre,
    Person,
    Title,
    TitleGenre,
    TitleIdentifier,
    TitleLocalization,
    TitlePlays,
    TopTitle,
)
from cineflux.clock import Clock

_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
# Who may be the parent of what: seasons belong to series, episodes to seasons.
_PARENT_KIND = {"season": "series", "episode": "season"}


class CatalogError(Exception):
    """Base of the catalogue's errors."""


class TitleNotFound(CatalogError):
    """No title has this id."""


class InvalidTitle(CatalogError):
    """Title data that cannot be accepted."""


def minimum_age(rating: str) -> int:
    """The age an Arcom rating asks for (0 for tous publics)."""
    return 0 if rating == "TP" else int(rating)


def validate_title(name: str, year: int | None) -> tuple[str, int | None]:
    """A cleaned name and year, or ``InvalidTitle``."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidTitle("a title needs a name")
    if len(cleaned) > 300:
        raise InvalidTitle("the name is longer than 300 characters")
    if year is not None and not 1878 <= year <= 2100:
        raise InvalidTitle(f"{year} is not a plausible year for a film")
    return cleaned, year


def create_title(
    session: Session,
    *,
    clock: Clock,
    name: str,
    year: int | None,
    title_id: str | None = None,
    kind: str = "movie",
    parent_id: str | None = None,
    number: int | None = None,
) -> Title:
    """Register a film, a series, a season (under a series) or an episode (under a season)."""
    name, year = validate_title(name, year)
    if kind not in TITLE_KINDS:
        raise InvalidTitle(f"unknown kind {kind!r} (one of {', '.join(TITLE_KINDS)})")
    expected_parent = _PARENT_KIND.get(kind)
    if expected_parent is None and parent_id is not None:
        raise InvalidTitle(f"a {kind} has no parent")
    if expected_parent is not None:
        if parent_id is None:
            raise InvalidTitle(f"a {kind} belongs to a {expected_parent}")
        parent = get_title(session, parent_id)
        if parent.kind != expected_parent:
            raise InvalidTitle(f"a {kind} belongs to a {expected_parent}, not a {parent.kind}")
    if number is not None and number < 0:
        raise InvalidTitle("season and episode numbers are not negative")
    title = Title(
        name=name,
        year=year,
        kind=kind,
        parent_id=parent_id,
        number=number,
        created_at=clock.now(),
    )
    if title_id is not None:
        title.id = title_id
    session.add(title)
    session.flush()
    search.refresh_search_document(session, title.id)
    return title


@dataclass(frozen=True)
class CreditSpec:
    """A person's part in a title."""

    name: str
    role: str
    character: str | None = None


@dataclass(frozen=True)
class ArtworkSpec:
    """An image of a title, hosted where ``url`` says (https only)."""

    kind: str  # poster, backdrop, logo
    url: str
    language: str | None = None
    width: int | None = None
    height: int | None = None


ARTWORK_KINDS = ("poster", "backdrop", "logo")


@dataclass(frozen=True)
class TitleDetails:
    """What describes a title beyond its name: the fields the catalogue and rights read."""

    original_language: str | None = None
    production_countries: tuple[str, ...] = ()
    fr_release_date: date | None = None
    first_free_tv_broadcast: date | None = None
    european_work: bool = False
    french_language_work: bool = False
    age_rating: str = "TP"
    # language -> (name, synopsis)
    localizations: dict[str, tuple[str, str]] = field(default_factory=dict)
    genres: tuple[str, ...] = ()
    credits: tuple[CreditSpec, ...] = ()
    artwork: tuple[ArtworkSpec, ...] = ()


def details_from_json(data: Any) -> TitleDetails:
    """Details from their JSON shape (as ``cineflux catalog describe`` reads them)."""
    if not isinstance(data, dict):
        raise InvalidTitle("details must be a JSON object")
    known = {
        "original_language", "production_countries", "fr_release_date",
        "first_free_tv_broadcast", "european_work", "french_language_work", "age_rating",
        "localizations", "genres", "credits", "artwork",
    }  # fmt: skip
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidTitle(f"unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})")

    def day(field_name: str) -> date | None:
        value = data.get(field_name)
        if value is None:
            return None
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise InvalidTitle(f"{field_name}: {value!r} is not a date (YYYY-MM-DD)") from None

    try:
        localizations = {
            str(language): (str(entry["name"]), str(entry.get("synopsis", "")))
            for language, entry in dict(data.get("localizations", {})).items()
        }
        credits = tuple(
            CreditSpec(str(c["name"]), str(c["role"]), c.get("character"))
            for c in data.get("credits", [])
        )
        artwork = tuple(
            ArtworkSpec(
                str(a["kind"]),
                str(a["url"]),
                a.get("language"),
                int(a["width"]) if a.get("width") is not None else None,
                int(a["height"]) if a.get("height") is not None else None,
            )
            for a in data.get("artwork", [])
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InvalidTitle(f"localizations, credits or artwork malformed ({error})") from None
    details = TitleDetails(
        original_language=data.get("original_language"),
        production_countries=tuple(str(c) for c in data.get("production_countries", [])),
        fr_release_date=day("fr_release_date"),
        first_free_tv_broadcast=day("first_free_tv_broadcast"),
        european_work=bool(data.get("european_work", False)),
        french_language_work=bool(data.get("french_language_work", False)),
        age_rating=str(data.get("age_rating", "TP")),
        localizations=localizations,
        genres=tuple(str(g) for g in data.get("genres", [])),
        credits=credits,
        artwork=artwork,
    )
    validate_details(details)
    return details


def details_to_json(session: Session, title: Title) -> dict[str, Any]:
    """A title's details in the shape ``details_from_json`` reads."""
    return {
        "original_language": title.original_language,
        "production_countries": [c for c in title.production_countries.split(",") if c],
        "fr_release_date": title.fr_release_date.isoformat() if title.fr_release_date else None,
        "first_free_tv_broadcast": (
            title.first_free_tv_broadcast.isoformat() if title.first_free_tv_broadcast else None
        ),
        "european_work": title.european_work,
        "french_language_work": title.french_language_work,
        "age_rating": title.age_rating,
        "localizations": {
            loc.language: {"name": loc.name, "synopsis": loc.synopsis}
            for loc in title.localizations
        },
        "genres": sorted(g.genre_slug for g in title.genres),
        "credits": [
            {"name": name, "role": role, "character": character}
            for name, role, character in credits_of(session, title.id)
        ],
        "artwork": [
            {
                "kind": a.kind,
                "url": a.url,
                "language": a.language,
                "width": a.width,
                "height": a.height,
            }
            for a in artwork_of(session, title.id)
        ],
    }


def validate_details(details: TitleDetails) -> None:
    """Raise ``InvalidTitle`` for details that cannot be accepted."""
    if details.age_rating not in AGE_RATINGS:
        raise InvalidTitle(
            f"unknown age rating {details.age_rating!r} (Arcom: {', '.join(AGE_RATINGS)})"
        )
    languages = [details.original_language or "", *details.localizations]
    for tag in filter(None, languages):
        if not _LANGUAGE_TAG.match(tag):
            raise InvalidTitle(f"{tag!r} is not a BCP 47 language tag")
    for country in details.production_countries:
        if not _COUNTRY.match(country):
            raise InvalidTitle(f"{country!r} is not an ISO 3166-1 alpha-2 country code")
    for language, (name, _synopsis) in details.localizations.items():
        if not name.strip():
            raise InvalidTitle(f"the {language} name is empty")
    for image in details.artwork:
        if image.kind not in ARTWORK_KINDS:
            raise InvalidTitle(f"unknown artwork kind {image.kind!r} ({', '.join(ARTWORK_KINDS)})")
        if not image.url.startswith("https://") or len(image.url) > 500:
            # Shown in subscribers' pages: https only, so no mixed content and no javascript:.
            raise InvalidTitle(f"artwork URL {image.url[:80]!r} is not an https URL")
    if (
        details.fr_release_date is not None
        and details.first_free_tv_broadcast is not None
        and details.first_free_tv_broadcast < details.fr_release_date
    ):
        raise InvalidTitle("a free-TV broadcast cannot precede the cinema release")


def set_details(session: Session, title_id: str, details: TitleDetails) -> Title:
    """Replace a title's descriptive details and what it is found by (not its rights)."""
    validate_details(details)
    title = get_title(session, title_id)
    title.original_language = details.original_language
    title.production_countries = ",".join(details.production_countries)
    title.fr_release_date = details.fr_release_date
    title.first_free_tv_broadcast = details.first_free_tv_broadcast
    title.european_work = details.european_work
    title.french_language_work = details.french_language_work
    title.age_rating = details.age_rating
    title.localizations = [
        TitleLocalization(language=language, name=" ".join(name.split()), synopsis=synopsis)
        for language, (name, synopsis) in details.localizations.items()
    ]
    known = set(session.scalars(select(Genre.slug).where(Genre.slug.in_(details.genres))))
    unknown = [g for g in details.genres if g not in known]
    if unknown:
        raise InvalidTitle(f"unknown genre {unknown[0]!r}")
    title.genres = [TitleGenre(genre_slug=slug) for slug in dict.fromkeys(details.genres)]
    _set_credits(session, title, details.credits)
    for old in session.scalars(select(Artwork).where(Artwork.title_id == title.id)):
        session.delete(old)
    session.add_all(
        Artwork(
            title_id=title.id,
            kind=a.kind,
            url=a.url,
            language=a.language,
            width=a.width,
            height=a.height,
        )
        for a in details.artwork
    )
    session.flush()
    search.refresh_search_document(session, title.id)
    return title


def _set_credits(session: Session, title: Title, credits: Sequence[CreditSpec]) -> None:
    for old in session.scalars(select(Credit).where(Credit.title_id == title.id)):
        session.delete(old)
    for position, spec in enumerate(credits):
        name = " ".join(spec.name.split())
        person = session.scalar(select(Person).where(Person.name == name).limit(1))
        if person is None:
            person = Person(name=name)
            session.add(person)
            session.flush()
        session.add(
            Credit(
                title_id=title.id,
                person_id=person.id,
                role=spec.role,
                character=spec.character,
                position=position,
            )
        )


def credits_of(session: Session, title_id: str) -> list[tuple[str, str, str | None]]:
    """(person, role, character) of a title, in billing order."""
    rows = session.execute(
        select(Person.name, Credit.role, Credit.character)
        .join(Credit, Credit.person_id == Person.id)
        .where(Credit.title_id == title_id)
        .order_by(Credit.position)
    )
    return [(name, role, character) for name, role, character in rows]


def artwork_of(session: Session, title_id: str) -> list[Artwork]:
    """A title's images, by kind."""
    return list(
        session.scalars(
            select(Artwork).where(Artwork.title_id == title_id).order_by(Artwork.kind, Artwork.id)
        )
    )


def genres(session: Session) -> list[Genre]:
    """Every genre, by slug."""
    return list(session.scalars(select(Genre).order_by(Genre.slug)))


def localized(title: Title, language: str) -> tuple[str, str]:
    """(name, synopsis) in ``language``, falling back to English, French, then the name."""
    by_language = {loc.language: loc for loc in title.localizations}
    for candidate in (language, "en", "fr"):
        loc = by_language.get(candidate)
        if loc is not None:
            return loc.name, loc.synopsis
    return title.name, ""


def children(session: Session, title_id: str) -> list[Title]:
    """Seasons of a series or episodes of a season, in order."""
    return list(
        session.scalars(
            select(Title).where(Title.parent_id == title_id).order_by(Title.number, Title.name)
        )
    )


def find_by_identifier(session: Session, scheme: str, value: str) -> Title | None:
    """The title a partner's identifier names, if known."""
    row = session.get(TitleIdentifier, (scheme, value))
    return session.get(Title, row.title_id) if row is not None else None


def add_identifier(session: Session, title_id: str, scheme: str, value: str) -> None:
    """Remember a partner's identifier for a title (a no-op when already known)."""
    existing = session.get(TitleIdentifier, (scheme, value))
    if existing is not None:
        if existing.title_id != title_id:
            raise InvalidTitle(f"{scheme} {value!r} already names another title")
        return
    session.add(TitleIdentifier(scheme=scheme, value=value, title_id=title_id))
    session.flush()


def identifiers_of(session: Session, title_id: str) -> dict[str, str]:
    """A title's partner identifiers, by scheme."""
    rows = session.scalars(select(TitleIdentifier).where(TitleIdentifier.title_id == title_id))
    return {row.scheme: row.value for row in rows}


def rank_top_titles(session: Session, *, day: date, period_days: int = 7, keep: int = 100) -> int:
    """Snapshot every territory's most played titles over the period ending on ``day``.

    Keeps more than ten, so that a profile's age limit or a title's withdrawal still leaves
    ten to show. Returns how many ranked rows were written.
    """
    session.execute(delete(TopTitle).where(TopTitle.day == day))
    since = day - timedelta(days=period_days)
    territories = session.scalars(
        select(TitlePlays.territory).where(TitlePlays.day > since, TitlePlays.day <= day).distinct()
    ).all()
    written = 0
    for territory in territories:
        total = func.sum(TitlePlays.plays)
        ranked = session.execute(
            select(TitlePlays.title_id, total)
            .where(
                TitlePlays.territory == territory,
                TitlePlays.day > since,
                TitlePlays.day <= day,
            )
            .group_by(TitlePlays.title_id)
            .order_by(total.desc(), TitlePlays.title_id)
            .limit(keep)
        ).all()
        session.add_all(
            TopTitle(territory=territory, day=day, rank=rank, title_id=title_id, plays=plays)
            for rank, (title_id, plays) in enumerate(ranked, start=1)
        )
        written += len(ranked)
    session.flush()
    return written


def top_titles(session: Session, *, territory: str, day: date) -> list[str]:
    """The latest ranking of a territory on or before ``day``, most played first."""
    latest = session.scalar(
        select(func.max(TopTitle.day)).where(TopTitle.territory == territory, TopTitle.day <= day)
    )
    if latest is None:
        return []
    return list(
        session.scalars(
            select(TopTitle.title_id)
            .where(TopTitle.territory == territory, TopTitle.day == latest)
            .order_by(TopTitle.rank)
        )
    )


def record_play(session: Session, *, title_id: str, territory: str, day: date) -> None:
    """Count one play of a title in a territory (the Top 10 reads these counts).

    One upsert that adds 1 in the database: plays of one title start at the same moment
    everywhere, and a read-then-write would lose some of them (or fail on the first insert).
    """
    dialect = session.get_bind().dialect.name
    statement: Any = (
        postgresql_insert(TitlePlays) if dialect == "postgresql" else sqlite_insert(TitlePlays)
    ).values(title_id=title_id, territory=territory, day=day, plays=1)
    statement = statement.on_conflict_do_update(
        index_elements=["title_id", "territory", "day"], set_={"plays": TitlePlays.plays + 1}
    )
    session.flush()  # plays counted through the ORM in this session are written first
    session.execute(statement)
    # A row this session holds was changed behind its back: read it again when asked.
    held = session.identity_map.get(identity_key(TitlePlays, (title_id, territory, day)))
    if held is not None:
        session.expire(held, ["plays"])


def daily_plays(
    session: Session, *, territories: Sequence[str], since: date, until: date
) -> dict[str, dict[date, int]]:
    """Plays per title and day over ``[since, until]``, summed over the territories."""
    rows = session.execute(
        select(TitlePlays.title_id, TitlePlays.day, func.sum(TitlePlays.plays))
        .where(
            TitlePlays.territory.in_(territories),
            TitlePlays.day >= since,
            TitlePlays.day <= until,
        )
        .group_by(TitlePlays.title_id, TitlePlays.day)
    )
    plays: dict[str, dict[date, int]] = {}
    for title_id, day, count in rows:
        plays.setdefault(title_id, {})[day] = int(count)
    return plays


def published_since(
    session: Session, *, since: datetime, among: Select[Any] | None = None
) -> dict[str, datetime]:
    """Titles first published after ``since`` (optionally among some ids), with that instant."""
    statement = select(Title.id, Title.published_at).where(Title.published_at > since)
    if among is not None:
        statement = statement.where(Title.id.in_(among))
    return {title_id: at for title_id, at in session.execute(statement) if at is not None}


def mark_published(session: Session, title_id: str, *, at: datetime) -> None:
    """Make a title visible to subscribers from ``at`` (kept if it was published before)."""
    title = get_title(session, title_id)
    if title.published_at is None:
        title.published_at = at
        session.flush()


def set_credits_start(session: Session, title_id: str, seconds: float | None) -> Title:
    """Set where a film's or an episode's end credits start (None: it has no such mark)."""
    title = get_title(session, title_id)
    if title.kind not in ("movie", "episode"):
        raise InvalidTitle(f"a {title.kind} is not played: set the credits of its episodes")
    if seconds is not None and not (0 < seconds < 100 * 3600):
        raise InvalidTitle("the credits start is a positive position in seconds")
    title.credits_start_seconds = seconds
    session.flush()
    return title


def parse_position(text: str) -> float:
    """Seconds from ``H:MM:SS``, ``M:SS`` or plain seconds (``5412.5``); ``InvalidTitle``."""
    parts = text.strip().split(":")
    try:
        if len(parts) > 3 or any(not p or p.startswith("-") for p in parts):
            raise ValueError(text)
        seconds = 0.0
        for part in parts:
            seconds = seconds * 60 + float(part)
    except ValueError:
        raise InvalidTitle(f"{text!r} is not a position (H:MM:SS, M:SS or seconds)") from None
    return seconds


def strictest_rating(session: Session, title: Title) -> str:
    """The strictest rating of a title and its season and series (what a viewer must meet)."""
    ratings = [title.age_rating]
    parent_id = title.parent_id
    while parent_id is not None and len(ratings) < 4:
        parent = get_title(session, parent_id, details=False)  # only its rating is read
        ratings.append(parent.age_rating)
        parent_id = parent.parent_id
    return max(ratings, key=minimum_age)


def titles_by_id(session: Session, ids: Sequence[str]) -> dict[str, Title]:
    """The titles with these ids (unknown ids are left out)."""
    if not ids:
        return {}
    return {t.id: t for t in session.scalars(select(Title).where(Title.id.in_(set(ids))))}


def next_episode(session: Session, episode: Title) -> Title | None:
    """The episode after this one in its series (next number, else the next season's
    first), or None for a film or the series' last episode."""
    if episode.kind != "episode" or episode.parent_id is None:
        return None
    season = session.get(Title, episode.parent_id)
    if season is None or season.parent_id is None:
        return None
    seasons = {
        s.id: s.number
        for s in session.scalars(select(Title).where(Title.parent_id == season.parent_id))
    }
    rows = session.execute(
        select(Title.id, Title.parent_id, Title.number).where(
            Title.parent_id.in_(list(seasons)), Title.kind == "episode"
        )
    )
    episodes = [EpisodeRef(tid, seasons.get(parent or ""), number) for tid, parent, number in rows]
    following = following_episode(EpisodeRef(episode.id, season.number, episode.number), episodes)
    return session.get(Title, following.title_id) if following is not None else None


# Reading a title without its names in other languages and its genres: each is a query
# of its own otherwise, then loaded only if read (a play reads neither for a film).
_WITHOUT_DETAILS = (lazyload(Title.localizations), lazyload(Title.genres))


def get_title(session: Session, title_id: str, *, details: bool = True) -> Title:
    """The title with this id, or ``TitleNotFound``; ``details=False`` loads its
    localizations and genres only when they are read."""
    title = session.get(Title, title_id, options=None if details else _WITHOUT_DETAILS)
    if title is None:
        raise TitleNotFound(title_id)
    return title


def list_titles(
    session: Session,
    *,
    limit: int = 100,
    offset: int = 0,
    published_only: bool = True,
    among: Select[Any] | None = None,
) -> list[Title]:
    """Titles, newest first; by default only published ones; optionally among some ids."""
    statement = select(Title).order_by(Title.created_at.desc(), Title.id)
    if published_only:
        statement = statement.where(Title.published_at.is_not(None))
    if among is not None:
        statement = statement.where(Title.id.in_(among))
    return list(session.scalars(statement.limit(limit).offset(offset)))


def find_titles(session: Session, reference: str) -> list[Title]:
    """Titles matching an id or an exact name."""
    by_id = session.get(Title, reference)
    if by_id is not None:
        return [by_id]
    return list(session.scalars(select(Title).where(Title.name == reference)))
