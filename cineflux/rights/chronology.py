"""Deciding availability: licence windows, holdbacks and the chronologie des médias.

Pure functions of dated facts. A title is available at an instant when a licence window of
the territory and licence type contains it, no holdback of that window withdraws it, and, in
France, for a film released in cinemas, the rule set in force on that day lets the licence
type start. Every condition changes only at a known instant (a window's start, a rule set's
first day, an opening N months after release...), so availability is constant between those
instants: that is how intervals are computed exactly, without sampling.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LICENSE_TYPES = ("SVOD", "TVOD", "EST", "AVOD", "FVOD")
FORMATS = ("SD", "HD", "UHD")
PLATFORM_PROFILES = ("svod-signatory", "svod-other", "svod-investor")
CHRONOLOGY_TERRITORY = "FR"
PARIS = ZoneInfo("Europe/Paris")
DEFAULT_RULE_SETS_FILE = Path(__file__).with_name("chronologie.json")
_EARLIEST = datetime(1, 1, 2, tzinfo=UTC)


class RuleSetError(ValueError):
    """A chronologie rule set that cannot be used."""


def add_months(day: date, months: int) -> date:
    """The same day of month ``months`` later; the month's last day when it has none."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def paris_midnight(day: date) -> datetime:
    """00:00 in Paris on ``day``, as a UTC instant."""
    return datetime.combine(day, time(), tzinfo=PARIS).astimezone(UTC)


def paris_date(instant: datetime) -> date:
    """The calendar day in Paris at ``instant``."""
    return instant.astimezone(PARIS).date()


@dataclass(frozen=True)
class RuleSet:
    """One dated version of the chronologie: delays in months after cinema release."""

    name: str
    in_force_from: date
    source: str
    months: Mapping[str, int]
    svod_months: Mapping[str, int]

    @property
    def free_tv_months(self) -> int | None:
        """When free-to-air television may broadcast the film."""
        return self.months.get("FREE_TV")

    def delay_months(self, license_type: str, platform_profile: str) -> int | None:
        """Months after release before ``license_type`` may start; None when not governed."""
        if license_type == "SVOD":
            return self.svod_months.get(platform_profile)
        return self.months.get(license_type)

    def to_json(self) -> dict[str, Any]:
        """The rule set in the shape of ``chronologie.json``."""
        return {
            "name": self.name,
            "in_force_from": self.in_force_from.isoformat(),
            "source": self.source,
            "months": dict(self.months),
            "svod_months": dict(self.svod_months),
        }


def parse_rule_set(data: Mapping[str, Any]) -> RuleSet:
    """A rule set from its JSON shape, or ``RuleSetError`` saying what is wrong."""
    try:
        name = str(data["name"]).strip()
        in_force_from = date.fromisoformat(str(data["in_force_from"]))
        source = str(data.get("source", "")).strip()
        months = {str(k): int(v) for k, v in dict(data.get("months", {})).items()}
        svod = {str(k): int(v) for k, v in dict(data.get("svod_months", {})).items()}
    except KeyError as missing:
        raise RuleSetError(f"a rule set needs {missing.args[0]!r}") from None
    except (TypeError, ValueError) as error:
        raise RuleSetError(f"rule set {data.get('name')!r}: {error}") from None
    if not name:
        raise RuleSetError("a rule set needs a name")
    if not source:
        raise RuleSetError(f"rule set {name!r} needs a source (the agreement or decree)")
    for kind in months:
        if kind not in (*LICENSE_TYPES, "FREE_TV") or kind == "SVOD":
            raise RuleSetError(
                f"rule set {name!r}: unknown kind {kind!r} in months "
                "(SVOD delays go in svod_months, per platform profile)"
            )
    for profile in svod:
        if profile not in PLATFORM_PROFILES:
            raise RuleSetError(f"rule set {name!r}: unknown platform profile {profile!r}")
    if any(value < 0 for value in (*months.values(), *svod.values())):
        raise RuleSetError(f"rule set {name!r}: a delay cannot be negative")
    return RuleSet(name, in_force_from, source, months, svod)


def parse_rule_sets(data: Any) -> list[RuleSet]:
    """Rule sets from a document holding ``rule_sets`` or a single rule set, oldest first."""
    items = data.get("rule_sets", [data]) if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise RuleSetError("expected a rule set or {'rule_sets': [...]}")
    rule_sets = sorted((parse_rule_set(item) for item in items), key=lambda r: r.in_force_from)
    days = [r.in_force_from for r in rule_sets]
    if len(set(days)) != len(days):
        raise RuleSetError("two rule sets come into force on the same day")
    return rule_sets


def load_rule_sets(path: Path = DEFAULT_RULE_SETS_FILE) -> list[RuleSet]:
    """Rule sets from a JSON file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise RuleSetError(f"{path}: not JSON ({error})") from None
    return parse_rule_sets(document)


def rule_set_in_force(rule_sets: Sequence[RuleSet], day: date) -> RuleSet | None:
    """The newest rule set in force on ``day``, if any."""
    current = None
    for rule_set in sorted(rule_sets, key=lambda r: r.in_force_from):
        if rule_set.in_force_from <= day:
            current = rule_set
    return current


@dataclass(frozen=True)
class Period:
    """A half-open span of time, [starts_at, ends_at); open-ended when ``ends_at`` is None."""

    starts_at: datetime
    ends_at: datetime | None = None

    def contains(self, instant: datetime) -> bool:
        """Whether ``instant`` falls inside."""
        return self.starts_at <= instant and (self.ends_at is None or instant < self.ends_at)


@dataclass(frozen=True)
class Holdback(Period):
    """A span inside a window when the title must be withdrawn."""

    reason: str = ""


@dataclass(frozen=True)
class WindowTerms:
    """A licence window as the decision needs it."""

    territory: str
    license_type: str
    starts_at: datetime
    ends_at: datetime | None
    format_cap: str = "HD"
    holdbacks: tuple[Holdback, ...] = ()

    @property
    def period(self) -> Period:
        """The window's span."""
        return Period(self.starts_at, self.ends_at)


@dataclass(frozen=True)
class FilmFacts:
    """What the chronologie looks at: the French cinema release and free-TV broadcast."""

    fr_release_date: date | None = None
    first_free_tv_broadcast: date | None = None


@dataclass(frozen=True)
class RightsPolicy:
    """The rule sets known to the platform and the platform's own profile."""

    rule_sets: tuple[RuleSet, ...]
    platform_profile: str = "svod-other"

    def __post_init__(self) -> None:
        if self.platform_profile not in PLATFORM_PROFILES:
            raise RuleSetError(
                f"unknown platform profile {self.platform_profile!r}; "
                f"choose one of {', '.join(PLATFORM_PROFILES)}"
            )


@dataclass(frozen=True)
class Decision:
    """Whether a title is available at an instant, and why."""

    available: bool
    reason: str
    opens_at: datetime | None
    closes_at: datetime | None
    rule_set: str | None
    format_cap: str | None = None
    chronology_opens_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The decision as ``cineflux rights check --json`` prints it."""
        return {
            "available": self.available,
            "opens": paris_date(self.opens_at).isoformat() if self.opens_at else None,
            "closes": paris_date(self.closes_at).isoformat() if self.closes_at else None,
            "opens_at": self.opens_at.isoformat() if self.opens_at else None,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
            "rule_set": self.rule_set,
            "format_cap": self.format_cap,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class _State:
    available: bool
    reason: str
    rule_set: str | None
    format_cap: str | None = None
    chronology_opens_at: datetime | None = None


@dataclass
class RightsQuestion:
    """Availability of one title, in one territory, for one licence type."""

    facts: FilmFacts
    windows: Sequence[WindowTerms]
    policy: RightsPolicy
    territory: str
    license_type: str
    _relevant: list[WindowTerms] = field(init=False)

    def __post_init__(self) -> None:
        self.territory = self.territory.upper()
        self.license_type = self.license_type.upper()
        if self.license_type not in LICENSE_TYPES:
            raise RuleSetError(f"unknown licence type {self.license_type!r}")
        self._relevant = [
            w
            for w in self.windows
            if w.territory.upper() == self.territory and w.license_type == self.license_type
        ]

    @property
    def chronology_applies(self) -> bool:
        """Only films released in French cinemas, and only in France."""
        return self.territory == CHRONOLOGY_TERRITORY and self.facts.fr_release_date is not None

    def _chronology_block(
        self, instant: datetime
    ) -> tuple[str | None, str | None, datetime | None]:
        """(reason it blocks or None, rule set name, the opening it imposes)."""
        if not self.chronology_applies:
            return None, None, None
        release = self.facts.fr_release_date
        assert release is not None
        rule_set = rule_set_in_force(self.policy.rule_sets, paris_date(instant))
        if rule_set is None:
            return None, None, None
        delay = rule_set.delay_months(self.license_type, self.policy.platform_profile)
        opening = paris_midnight(add_months(release, delay)) if delay is not None else None
        if opening is not None and instant < opening:
            who = (
                f" for a {self.policy.platform_profile} platform"
                if self.license_type == "SVOD"
                else ""
            )
            return (
                f"chronologie des médias ({rule_set.name}): {self.license_type}{who} opens "
                f"{delay} months after the cinema release of {release.isoformat()}",
                rule_set.name,
                opening,
            )
        broadcast = self.facts.first_free_tv_broadcast
        if self.license_type == "SVOD" and broadcast is not None and rule_set.free_tv_months:
            free_tv = paris_midnight(add_months(release, rule_set.free_tv_months))
            until = paris_midnight(add_months(broadcast, 1))
            if free_tv <= instant < until:
                return (
                    f"chronologie des médias ({rule_set.name}): SVOD holdback from the free-TV "
                    f"window until one month after the first broadcast on {broadcast}",
                    rule_set.name,
                    opening,
                )
        return None, rule_set.name, opening

    def state_at(self, instant: datetime) -> _State:
        """Availability at one instant, with the reason."""
        block, rule_set, opening = self._chronology_block(instant)
        open_windows = [w for w in self._relevant if w.period.contains(instant)]
        if not open_windows:
            reason = f"no {self.license_type} licence window in {self.territory} at this time"
            return _State(False, reason, rule_set, None, opening)
        serving = [w for w in open_windows if not any(h.contains(instant) for h in w.holdbacks)]
        if not serving:
            holdback = next(h for w in open_windows for h in w.holdbacks if h.contains(instant))
            why = f": {holdback.reason}" if holdback.reason else ""
            return _State(False, f"withdrawn by a holdback{why}", rule_set, None, opening)
        if block is not None:
            return _State(False, block, rule_set, None, opening)
        cap = max((w.format_cap for w in serving), key=FORMATS.index)
        reason = f"licensed for {self.license_type} in {self.territory}"
        if rule_set is not None and opening is not None:
            reason += f"; chronologie des médias satisfied ({rule_set})"
        return _State(True, reason, rule_set, cap, opening)

    def _boundaries(self) -> list[datetime]:
        points: set[datetime] = set()
        for window in self._relevant:
            points.add(window.starts_at)
            if window.ends_at is not None:
                points.add(window.ends_at)
            for holdback in window.holdbacks:
                points.add(holdback.starts_at)
                if holdback.ends_at is not None:
                    points.add(holdback.ends_at)
        release = self.facts.fr_release_date
        if self.chronology_applies and release is not None:
            for rule_set in self.policy.rule_sets:
                points.add(paris_midnight(rule_set.in_force_from))
                delay = rule_set.delay_months(self.license_type, self.policy.platform_profile)
                if delay is not None:
                    points.add(paris_midnight(add_months(release, delay)))
                broadcast = self.facts.first_free_tv_broadcast
                if broadcast is not None and rule_set.free_tv_months:
                    points.add(paris_midnight(add_months(release, rule_set.free_tv_months)))
                    points.add(paris_midnight(add_months(broadcast, 1)))
        return sorted(points)

    def intervals(self) -> list[Period]:
        """Every span of availability, merged, in order."""
        points = self._boundaries()
        if not points:
            return []
        starts = [_EARLIEST, *points]
        ends: list[datetime | None] = [*points, None]
        merged: list[Period] = []
        for start, end in zip(starts, ends, strict=True):
            if not self.state_at(start).available:
                continue
            if merged and merged[-1].ends_at == start:
                merged[-1] = Period(merged[-1].starts_at, end)
            else:
                merged.append(Period(start, end))
        return merged

    def decide(self, instant: datetime) -> Decision:
        """The decision at ``instant``: available or not, why, and when that changes."""
        state = self.state_at(instant)
        spans = self.intervals()
        current = next((p for p in spans if p.contains(instant)), None)
        opens_at: datetime | None
        closes_at: datetime | None
        if current is not None:
            opens_at, closes_at = current.starts_at, current.ends_at
        else:
            upcoming = next((p for p in spans if p.starts_at > instant), None)
            opens_at = upcoming.starts_at if upcoming else None
            closes_at = upcoming.ends_at if upcoming else None
        if opens_at == _EARLIEST:
            opens_at = None
        return Decision(
            available=state.available,
            reason=state.reason,
            opens_at=opens_at,
            closes_at=closes_at,
            rule_set=state.rule_set,
            format_cap=state.format_cap,
            chronology_opens_at=state.chronology_opens_at,
        )


def hypothetical_film_decision(
    *,
    policy: RightsPolicy,
    territory: str,
    license_type: str,
    release_date: date,
    on: datetime,
    first_free_tv_broadcast: date | None = None,
) -> Decision:
    """A film released in French cinemas on ``release_date``, licensed without limit in time."""
    window = WindowTerms(
        territory.upper(), license_type.upper(), paris_midnight(release_date), None
    )
    question = RightsQuestion(
        FilmFacts(release_date, first_free_tv_broadcast), [window], policy, territory, license_type
    )
    return question.decide(on)
