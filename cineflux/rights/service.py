"""Rights: windows and holdbacks, chronologie rule sets, and the availability they produce.

Services flush and never commit: the caller owns the transaction. Deciding is done by the
pure functions of ``rights.chronology``; this module loads their inputs and stores the
derived availability that home rows and search read.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, delete, func, select
from sqlalchemy.orm import Session, joinedload

from cineflux.catalog import service as catalog
from cineflux.catalog.models import Title
from cineflux.clock import Clock
from cineflux.rights.chronology import (
    FORMATS,
    LICENSE_TYPES,
    Decision,
    FilmFacts,
    Holdback,
    Period,
    RightsPolicy,
    RightsQuestion,
    RuleSet,
    WindowTerms,
    paris_date,
)
from cineflux.rights.models import (
    OPEN_END,
    Availability,
    ChronologyRuleSet,
    RightsWindow,
    WindowHoldback,
)
from cineflux.rights.territory import UnknownTerritoryCode, normalise_territory

BROWSABLE_KINDS = ("movie", "series")
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class RightsError(Exception):
    """Base of the rights domain's errors."""


class InvalidWindow(RightsError):
    """A window or holdback that cannot be accepted."""


class WindowNotFound(RightsError):
    """No window has this id."""


@dataclass(frozen=True)
class HoldbackSpec:
    """A holdback to create inside a window."""

    starts_at: datetime
    ends_at: datetime | None
    reason: str = ""


@dataclass(frozen=True)
class WindowSpec:
    """A window as an importer or the operator describes it."""

    territory: str
    license_type: str
    starts_at: datetime
    ends_at: datetime | None
    format_cap: str = "HD"
    audio_languages: tuple[str, ...] = ()
    subtitle_languages: tuple[str, ...] = ()
    holdbacks: tuple[HoldbackSpec, ...] = ()
    licensor: str = ""
    transaction_id: str | None = None
    alid: str | None = None


def _languages(tags: Iterable[str], what: str) -> str:
    cleaned = []
    for tag in tags:
        tag = tag.strip()
        if not _LANGUAGE_TAG.match(tag):
            raise InvalidWindow(f"{tag!r} is not a BCP 47 language tag ({what})")
        cleaned.append(tag)
    return ",".join(dict.fromkeys(cleaned))


def validate_window(spec: WindowSpec) -> WindowSpec:
    """A normalised window, or ``InvalidWindow`` saying what is wrong."""
    try:
        territory = normalise_territory(spec.territory)
    except UnknownTerritoryCode as error:
        raise InvalidWindow(str(error)) from None
    license_type = spec.license_type.strip().upper()
    if license_type not in LICENSE_TYPES:
        raise InvalidWindow(
            f"unknown licence type {spec.license_type!r} (one of {', '.join(LICENSE_TYPES)})"
        )
    format_cap = spec.format_cap.strip().upper()
    if format_cap not in FORMATS:
        raise InvalidWindow(f"unknown format {spec.format_cap!r} (one of {', '.join(FORMATS)})")
    for instant in (spec.starts_at, spec.ends_at):
        if instant is not None and instant.tzinfo is None:
            raise InvalidWindow("window times need a time zone")
    if spec.ends_at is not None and spec.ends_at <= spec.starts_at:
        raise InvalidWindow(
            f"the window ends ({spec.ends_at.isoformat()}) before it starts "
            f"({spec.starts_at.isoformat()})"
        )
    for holdback in spec.holdbacks:
        if holdback.ends_at is not None and holdback.ends_at <= holdback.starts_at:
            raise InvalidWindow("a holdback ends before it starts")
        inside_end = spec.ends_at is None or (
            holdback.ends_at is not None and holdback.ends_at <= spec.ends_at
        )
        if holdback.starts_at < spec.starts_at or not inside_end:
            raise InvalidWindow("a holdback must lie inside its window")
    _languages(spec.audio_languages, "audio")
    _languages(spec.subtitle_languages, "subtitles")
    return replace(spec, territory=territory, license_type=license_type, format_cap=format_cap)


def add_window(session: Session, *, clock: Clock, title_id: str, spec: WindowSpec) -> RightsWindow:
    """Grant a window on a title (availability is recomputed by ``refresh_availability``)."""
    catalog.get_title(session, title_id)
    spec = validate_window(spec)
    now = clock.now()
    window = RightsWindow(title_id=title_id, created_at=now, updated_at=now)
    _apply(window, spec)
    session.add(window)
    session.flush()
    return window


def update_window(
    session: Session, *, clock: Clock, window: RightsWindow, spec: WindowSpec
) -> None:
    """Replace a window's terms (and its holdbacks)."""
    spec = validate_window(spec)
    _apply(window, spec)
    window.updated_at = clock.now()
    session.flush()


def _apply(window: RightsWindow, spec: WindowSpec) -> None:
    window.territory = spec.territory
    window.license_type = spec.license_type
    window.starts_at = spec.starts_at
    window.ends_at = spec.ends_at
    window.format_cap = spec.format_cap
    window.audio_languages = _languages(spec.audio_languages, "audio")
    window.subtitle_languages = _languages(spec.subtitle_languages, "subtitles")
    window.licensor = spec.licensor
    window.transaction_id = spec.transaction_id
    window.alid = spec.alid
    window.holdbacks = [
        WindowHoldback(starts_at=h.starts_at, ends_at=h.ends_at, reason=h.reason)
        for h in spec.holdbacks
    ]


def get_window(session: Session, window_id: str) -> RightsWindow:
    """The window with this id, or ``WindowNotFound``."""
    window = session.get(RightsWindow, window_id)
    if window is None:
        raise WindowNotFound(window_id)
    return window


def find_window_by_transaction(
    session: Session, *, licensor: str, transaction_id: str
) -> RightsWindow | None:
    """The window an avails transaction created, if any."""
    return session.scalar(
        select(RightsWindow).where(
            RightsWindow.licensor == licensor, RightsWindow.transaction_id == transaction_id
        )
    )


def remove_window(session: Session, window: RightsWindow) -> None:
    """Withdraw a window."""
    session.delete(window)
    session.flush()


def windows_of(session: Session, title_ids: Sequence[str]) -> list[RightsWindow]:
    """Every window of these titles, with their holdbacks."""
    if not title_ids:
        return []
    # Holdbacks in the same query: every play's rights decision reads them, and their
    # own SELECT was one more statement per play.
    statement = (
        select(RightsWindow)
        .where(RightsWindow.title_id.in_(title_ids))
        .order_by(RightsWindow.territory, RightsWindow.license_type, RightsWindow.starts_at)
        .options(joinedload(RightsWindow.holdbacks))
    )
    return list(session.scalars(statement).unique())


# What a decision needs of windows and their holdbacks; built once (see _RULE_SETS).
_window, _holdback = RightsWindow.__table__.c, WindowHoldback.__table__.c
_WINDOW_TERMS = (
    select(
        _window.id, _window.territory, _window.license_type, _window.starts_at,
        _window.ends_at, _window.format_cap,
        _holdback.starts_at.label("holdback_starts_at"),
        _holdback.ends_at.label("holdback_ends_at"), _holdback.reason,
    )
    .outerjoin(WindowHoldback.__table__, _holdback.window_id == _window.id)
    .where(_window.title_id.in_(bindparam("title_ids", expanding=True)))
    .order_by(_window.territory, _window.license_type, _window.starts_at, _window.id)
)  # fmt: skip


def window_terms_of(session: Session, title_ids: Sequence[str]) -> list[WindowTerms]:
    """What the decision needs of these titles' windows, read as plain rows.

    Every play's decision reads them: entities (and their holdbacks' relationship) cost
    several times the CPU of the rows, measured by bench/playback.py.
    """
    terms: dict[str, WindowTerms] = {}
    for row in session.execute(_WINDOW_TERMS, {"title_ids": list(title_ids)}):
        held = terms.get(row.id)
        if held is None:
            held = terms[row.id] = WindowTerms(
                territory=row.territory,
                license_type=row.license_type,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                format_cap=row.format_cap,
            )
        if row.holdback_starts_at is not None:
            span = Holdback(row.holdback_starts_at, row.holdback_ends_at, row.reason)
            terms[row.id] = replace(held, holdbacks=(*held.holdbacks, span))
    return list(terms.values())


def window_terms(window: RightsWindow) -> WindowTerms:
    """What the pure decision needs from a stored window."""
    return WindowTerms(
        territory=window.territory,
        license_type=window.license_type,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        format_cap=window.format_cap,
        holdbacks=tuple(Holdback(h.starts_at, h.ends_at, h.reason) for h in window.holdbacks),
    )


# --- Rule sets ---------------------------------------------------------------------------


# Plain rows, not entities: every play reads them, and nothing here changes them. Built
# once, as the other statements every play runs (building one cost more than running it).
_RULE_SETS = select(
    ChronologyRuleSet.name,
    ChronologyRuleSet.in_force_from,
    ChronologyRuleSet.source,
    ChronologyRuleSet.months,
    ChronologyRuleSet.svod_months,
).order_by(ChronologyRuleSet.in_force_from)


def rule_sets(session: Session) -> list[RuleSet]:
    """Every stored chronologie rule set, oldest first."""
    rows = session.execute(_RULE_SETS)
    return [RuleSet(*row) for row in rows]


def rights_policy(session: Session, platform_profile: str) -> RightsPolicy:
    """The stored rule sets with the platform's profile."""
    return RightsPolicy(tuple(rule_sets(session)), platform_profile)


def add_rule_set(session: Session, rule_set: RuleSet) -> None:
    """Store a new dated rule set (recompute availability afterwards)."""
    if session.get(ChronologyRuleSet, rule_set.name) is not None:
        raise InvalidWindow(f"a rule set named {rule_set.name!r} already exists")
    clash = session.scalar(
        select(ChronologyRuleSet).where(ChronologyRuleSet.in_force_from == rule_set.in_force_from)
    )
    if clash is not None:
        raise InvalidWindow(f"rule set {clash.name!r} already comes into force that day")
    session.add(
        ChronologyRuleSet(
            name=rule_set.name,
            in_force_from=rule_set.in_force_from,
            source=rule_set.source,
            months=dict(rule_set.months),
            svod_months=dict(rule_set.svod_months),
        )
    )
    session.flush()


# --- Decisions -----------------------------------------------------------------------------


def _facts(title: Title) -> FilmFacts:
    if title.kind != "movie":
        return FilmFacts()  # the chronologie governs films released in cinemas only
    return FilmFacts(title.fr_release_date, title.first_free_tv_broadcast)


def _lineage(session: Session, title: Title) -> list[str]:
    """The title and its ancestors: a series' window covers its seasons and episodes."""
    ids = [title.id]
    parent_id = title.parent_id
    while parent_id is not None and parent_id not in ids:
        ids.append(parent_id)
        parent_id = catalog.get_title(session, parent_id).parent_id
    return ids


def decide(
    session: Session,
    *,
    policy: RightsPolicy,
    title_id: str,
    territory: str,
    license_type: str,
    at: datetime,
) -> Decision:
    """Whether a real title may be offered, and why (exact, from windows and rule sets)."""
    rights = title_rights(session, policy=policy, title_id=title_id)
    return rights.decide(territory=territory, license_type=license_type, at=at)


@dataclass(frozen=True)
class TitleRights:
    """What a title's decisions read, once: its film facts, the windows of the title and
    its ancestors, the rule sets. Decided then for any territory and time, without reading."""

    facts: FilmFacts
    windows: tuple[WindowTerms, ...]
    policy: RightsPolicy

    def decide(self, *, territory: str, license_type: str, at: datetime) -> Decision:
        """Whether the title may be offered there and then, and why."""
        question = RightsQuestion(self.facts, self.windows, self.policy, territory, license_type)
        return question.decide(at)


# What TitleRights are read from (for caches of them: readcache.ReadCache).
RIGHTS_TABLES = (
    Title.__tablename__,
    RightsWindow.__tablename__,
    WindowHoldback.__tablename__,
    ChronologyRuleSet.__tablename__,
)


def title_rights(session: Session, *, policy: RightsPolicy, title_id: str) -> TitleRights:
    """A real title's rights as decisions need them (``TitleNotFound`` otherwise)."""
    title = catalog.get_title(session, title_id, details=False)
    windows = window_terms_of(session, _lineage(session, title))
    return TitleRights(_facts(title), tuple(windows), policy)


@dataclass(frozen=True)
class TitleExplanation:
    """A title's state in a territory on a date, per licence type."""

    title: Title
    territory: str
    at: datetime
    decisions: dict[str, Decision]
    windows: list[RightsWindow] = field(default_factory=list)


def explain(
    session: Session, *, policy: RightsPolicy, title_id: str, territory: str, at: datetime
) -> TitleExplanation:
    """Every licence type's decision for a title, with the windows behind them."""
    territory = normalise_territory(territory)
    title = catalog.get_title(session, title_id)
    stored = windows_of(session, _lineage(session, title))
    terms = [window_terms(w) for w in stored]
    decisions = {
        license_type: RightsQuestion(_facts(title), terms, policy, territory, license_type).decide(
            at
        )
        for license_type in LICENSE_TYPES
    }
    return TitleExplanation(
        title, territory, at, decisions, [w for w in stored if w.territory == territory]
    )


# --- Derived availability -------------------------------------------------------------------


def _browsable_root(session: Session, title: Title) -> Title:
    while title.parent_id is not None:
        title = catalog.get_title(session, title.parent_id)
    return title


def _descendants(session: Session, root_id: str) -> list[str]:
    found: list[str] = []
    frontier = [root_id]
    while frontier:
        children = list(session.scalars(select(Title.id).where(Title.parent_id.in_(frontier))))
        found.extend(children)
        frontier = children
    return found


def availability_periods(
    title: Title, windows: Sequence[WindowTerms], policy: RightsPolicy
) -> dict[tuple[str, str], list[Period]]:
    """Spans of availability per (territory, licence type) of a browsable title."""
    pairs = sorted({(w.territory, w.license_type) for w in windows})
    return {
        (territory, license_type): RightsQuestion(
            _facts(title), windows, policy, territory, license_type
        ).intervals()
        for territory, license_type in pairs
    }


def refresh_availability(
    session: Session, *, policy: RightsPolicy, title_ids: Iterable[str]
) -> int:
    """Recompute the stored availability of these titles' browsable roots; rows written."""
    roots: dict[str, Title] = {}
    for title_id in dict.fromkeys(title_ids):
        title = session.get(Title, title_id)
        if title is None:
            continue
        root = _browsable_root(session, title)
        roots[root.id] = root
    written = 0
    for root in roots.values():
        session.execute(delete(Availability).where(Availability.title_id == root.id))
        if root.kind not in BROWSABLE_KINDS:
            continue
        family = [root.id, *_descendants(session, root.id)]
        terms = [window_terms(w) for w in windows_of(session, family)]
        age = catalog.minimum_age(root.age_rating)
        genres = "".join(f",{g.genre_slug}" for g in root.genres) + ","
        rows = [
            Availability(
                title_id=root.id,
                territory=territory,
                license_type=license_type,
                starts_at=period.starts_at,
                ends_at=period.ends_at or OPEN_END,
                minimum_age=age,
                kind=root.kind,
                genres=genres,
            )
            for (territory, license_type), periods in availability_periods(
                root, terms, policy
            ).items()
            for period in periods
        ]
        session.add_all(rows)
        written += len(rows)
    session.flush()
    return written


def refresh_all_availability(session: Session, *, policy: RightsPolicy, batch: int = 500) -> int:
    """Recompute every title's availability (after a rule set or profile change)."""
    total = 0
    last = ""
    while True:
        ids = list(
            session.scalars(
                select(Title.id)
                .where(Title.parent_id.is_(None), Title.id > last)
                .order_by(Title.id)
                .limit(batch)
            )
        )
        if not ids:
            return total
        total += refresh_availability(session, policy=policy, title_ids=ids)
        last = ids[-1]


def available_now(
    territory: str, at: datetime, *, license_type: str = "SVOD", max_age: int | None = None
) -> ColumnElement[bool]:
    """SQL condition on ``Availability``: rows open at ``at`` (for joins by the catalogue)."""
    conditions = [
        Availability.territory == territory,
        Availability.license_type == license_type,
        Availability.starts_at <= at,
        Availability.ends_at > at,
    ]
    if max_age is not None:
        conditions.append(Availability.minimum_age <= max_age)
    return and_(*conditions)


def available_title_ids(
    territory: str, at: datetime, *, license_type: str = "SVOD", max_age: int | None = None
) -> Select[Any]:
    """A query of the titles available at ``at`` (browsable roots only)."""
    return select(Availability.title_id).where(
        available_now(territory, at, license_type=license_type, max_age=max_age)
    )


def opening_between(
    territory: str, after: datetime, until: datetime, *, license_type: str = "SVOD"
) -> ColumnElement[bool]:
    """SQL condition: availability that starts in (after, until]."""
    return and_(
        Availability.territory == territory,
        Availability.license_type == license_type,
        Availability.starts_at > after,
        Availability.starts_at <= until,
    )


def titles_opening(
    session: Session,
    *,
    territory: str,
    after: datetime,
    until: datetime,
    license_type: str = "SVOD",
) -> dict[str, datetime]:
    """Browsable titles whose availability starts in (after, until], with that start."""
    rows = session.execute(
        select(Availability.title_id, func.min(Availability.starts_at))
        .where(opening_between(territory, after, until, license_type=license_type))
        .group_by(Availability.title_id)
    )
    return {title_id: starts_at for title_id, starts_at in rows}


def closing_between(
    territory: str, after: datetime, until: datetime, *, license_type: str = "SVOD"
) -> ColumnElement[bool]:
    """SQL condition: availability open at ``after`` that ends in (after, until]."""
    return and_(
        Availability.territory == territory,
        Availability.license_type == license_type,
        Availability.ends_at > after,
        Availability.ends_at <= until,
        Availability.starts_at <= after,
    )


# --- Regulatory report and reform scenarios ------------------------------------------------


@dataclass(frozen=True)
class CatalogueReport:
    """Shares of European and French-language works among the titles available."""

    territory: str
    on: date
    titles: int
    european: int
    french_language: int

    @property
    def european_share(self) -> float:
        """European works over all titles (0 when the catalogue is empty)."""
        return self.european / self.titles if self.titles else 0.0

    @property
    def french_language_share(self) -> float:
        """French-language works over all titles."""
        return self.french_language / self.titles if self.titles else 0.0


def catalogue_report(
    session: Session, *, territory: str, at: datetime, license_type: str = "SVOD"
) -> CatalogueReport:
    """Count the European and French-language works available at ``at``."""
    territory = normalise_territory(territory)
    available = available_title_ids(territory, at, license_type=license_type).distinct()
    row = session.execute(
        select(
            func.count(Title.id),
            func.sum(case((Title.european_work, 1), else_=0)),
            func.sum(case((Title.french_language_work, 1), else_=0)),
        ).where(Title.id.in_(available.scalar_subquery()))
    ).one()
    return CatalogueReport(territory, paris_date(at), row[0] or 0, row[1] or 0, row[2] or 0)


@dataclass(frozen=True)
class ScenarioChange:
    """A title that a reform would make available (gained) or withdraw (lost)."""

    title_id: str
    name: str
    license_type: str
    gained: bool


def compare_policies(
    session: Session,
    *,
    current: RightsPolicy,
    proposed: RightsPolicy,
    territory: str,
    at: datetime,
    license_types: Sequence[str] = LICENSE_TYPES,
    batch: int = 500,
) -> list[ScenarioChange]:
    """Titles whose availability at ``at`` differs between two policies, per licence type."""
    territory = normalise_territory(territory)
    changes: list[ScenarioChange] = []
    last = ""
    while True:
        # Only films released in cinemas can differ: the chronologie governs nothing else.
        titles = list(
            session.scalars(
                select(Title)
                .where(
                    Title.kind == "movie",
                    Title.fr_release_date.is_not(None),
                    Title.id > last,
                    Title.id.in_(
                        select(RightsWindow.title_id).where(RightsWindow.territory == territory)
                    ),
                )
                .order_by(Title.id)
                .limit(batch)
            )
        )
        if not titles:
            return changes
        last = titles[-1].id
        by_title: dict[str, list[WindowTerms]] = defaultdict(list)
        for window in windows_of(session, [t.id for t in titles]):
            by_title[window.title_id].append(window_terms(window))
        for title in titles:
            for license_type in license_types:
                before = RightsQuestion(
                    _facts(title), by_title[title.id], current, territory, license_type
                ).state_at(at)
                after = RightsQuestion(
                    _facts(title), by_title[title.id], proposed, territory, license_type
                ).state_at(at)
                if before.available != after.available:
                    changes.append(
                        ScenarioChange(title.id, title.name, license_type, after.available)
                    )


def proposed_policy(current: RightsPolicy, proposal: Sequence[RuleSet], on: date) -> RightsPolicy:
    """The current rule sets, with the proposal taking over (at the latest on ``on``)."""
    adjusted = [replace(r, in_force_from=min(r.in_force_from, on)) for r in proposal]
    first = min(r.in_force_from for r in adjusted)
    kept = [r for r in current.rule_sets if r.in_force_from < first]
    return RightsPolicy((*kept, *adjusted), current.platform_profile)
