"""What a profile was watching, as the home screen offers it back: "Continue watching".

Spans profiles (the viewing history), the catalogue (series, seasons, the next episode) and
rights (what the viewer may watch here and now), so it lives in a flow. One item per film or
series, the most recently watched first: a film or an episode in progress resumes where it
stopped; a completed episode brings the next one; a finished film or series leaves the row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from cineflux.catalog import service as catalog
from cineflux.catalog.flows import Viewer
from cineflux.profiles import service as profiles
from cineflux.profiles.models import ViewingEntry
from cineflux.profiles.watching import is_started
from cineflux.rights import service as rights

if TYPE_CHECKING:
    from cineflux.catalog.models import Title

ROW_LENGTH = 20
# How far back the row looks: enough entries to fill it after finished titles and series.
HISTORY_SCAN = 200


@dataclass(frozen=True)
class ResumeCard:
    """A film or an episode to go on with, and how far the profile got in it."""

    title_id: str  # what plays: the film or the episode
    name: str  # the film's or the series' name, in the viewer's language
    kind: str  # movie or episode
    age_rating: str  # the strictest of the title, its season and its series
    position_seconds: float
    duration_seconds: float | None
    watched_at: datetime
    series_id: str | None = None
    episode_name: str | None = None
    season: int | None = None
    number: int | None = None
    up_next: bool = False  # the episode after a completed one, not started yet

    @property
    def progress(self) -> float:
        """How much of the title was watched, from 0 to 1 (0 when its length is unknown)."""
        if not self.duration_seconds:
            return 0.0
        return max(0.0, min(1.0, self.position_seconds / self.duration_seconds))


@dataclass(frozen=True)
class _Candidate:
    title: Title
    root_id: str
    entry: ViewingEntry
    position_seconds: float
    duration_seconds: float | None
    up_next: bool


def _root_of(session: Session, title: Title) -> str | None:
    """The browsable title rights are held on: the film itself, or the episode's series."""
    if title.kind == "movie":
        return title.id
    if title.kind != "episode" or title.parent_id is None:
        return None
    return catalog.get_title(session, title.parent_id).parent_id


def _candidates(
    session: Session, entries: list[ViewingEntry], titles: dict[str, Title]
) -> list[_Candidate]:
    """One candidate per film or series: its most recent entry that says something."""
    decided: set[str] = set()
    found: list[_Candidate] = []
    for entry in entries:
        title = titles.get(entry.title_id)
        root_id = _root_of(session, title) if title is not None else None
        if title is None or root_id is None or root_id in decided:
            continue
        if not entry.completed:
            if not is_started(entry.position_seconds, entry.duration_seconds):
                continue  # a glance: an older entry of the series may still say more
            decided.add(root_id)
            found.append(
                _Candidate(
                    title, root_id, entry, entry.position_seconds, entry.duration_seconds, False
                )
            )
            continue
        decided.add(root_id)
        following = catalog.next_episode(session, title)
        if following is None:
            continue  # a finished film, or the series' last episode
        started = next((e for e in entries if e.title_id == following.id), None)
        if started is not None and started.completed:
            started = None  # watched before: it plays again from the start
        position = started.position_seconds if started else 0.0
        duration = started.duration_seconds if started else None
        found.append(_Candidate(following, root_id, entry, position, duration, not started))
    return found


def continue_watching(
    session: Session,
    viewer: Viewer,
    *,
    user_id: str,
    profile_id: str,
    limit: int = ROW_LENGTH,
) -> list[ResumeCard]:
    """The profile's "Continue watching" row: what it may watch here and now, most recently
    watched first, within its age limit."""
    entries = profiles.history(session, user_id=user_id, profile_id=profile_id, limit=HISTORY_SCAN)
    titles = catalog.titles_by_id(session, [e.title_id for e in entries])
    candidates = _candidates(session, entries, titles)
    if not candidates:
        return []
    available = rights.available_title_ids(
        viewer.territory, viewer.at, license_type=viewer.license_type, max_age=viewer.max_age
    )
    available = available.where(
        available.selected_columns[0].in_({c.root_id for c in candidates})
    ).distinct()
    allowed = set(session.scalars(available))
    cards: list[ResumeCard] = []
    for candidate in candidates:
        title = candidate.title
        if candidate.root_id not in allowed or title.published_at is None:
            continue
        rating = catalog.strictest_rating(session, title)
        if viewer.max_age is not None and catalog.minimum_age(rating) > viewer.max_age:
            continue
        cards.append(_card(session, viewer, candidate, rating))
        if len(cards) == limit:
            break
    return cards


def _card(session: Session, viewer: Viewer, candidate: _Candidate, rating: str) -> ResumeCard:
    title = candidate.title
    card = ResumeCard(
        title_id=title.id,
        name=catalog.localized(title, viewer.language)[0],
        kind=title.kind,
        age_rating=rating,
        position_seconds=candidate.position_seconds,
        duration_seconds=candidate.duration_seconds,
        watched_at=candidate.entry.updated_at,
        up_next=candidate.up_next,
    )
    if title.kind == "movie":
        return card
    series = catalog.get_title(session, candidate.root_id)
    season = catalog.get_title(session, title.parent_id) if title.parent_id else None
    return replace(
        card,
        name=catalog.localized(series, viewer.language)[0],
        series_id=series.id,
        episode_name=card.name,
        season=season.number if season is not None else None,
        number=title.number,
    )


def remove_from_continue_watching(
    session: Session, *, user_id: str, profile_id: str, title_id: str
) -> None:
    """Take a film, or the whole series of an episode, out of the profile's row (and of
    its history: the row is made from it)."""
    title = catalog.get_title(session, title_id)
    root_id = _root_of(session, title) if title.kind != "series" else title.id
    if title.kind == "movie" or root_id is None:
        ids = [title.id]
    else:
        seasons = catalog.children(session, root_id)
        ids = [e.id for s in seasons for e in catalog.children(session, s.id)]
    profiles.forget_titles(session, user_id=user_id, profile_id=profile_id, title_ids=ids)
