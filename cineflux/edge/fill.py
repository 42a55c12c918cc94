"""Proactive fill, the pure parts: the plan, the off-peak window and the bandwidth cap.

The control plane sends each site a plan (titles ranked by predicted popularity, each with
its object paths and a token opening them); edges fetch what they lack, in plan order, only
inside the site's off-peak window and under a bandwidth cap. No clock here: every function
takes ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cineflux.edge.tokens import UnsafePath, check_object_path


class PlanError(ValueError):
    """A fill plan the edge cannot use."""


@dataclass(frozen=True)
class FillWindow:
    """Daily off-peak hours in a zone; ``end`` before ``start`` spans midnight."""

    start: time
    end: time
    zone: ZoneInfo

    @property
    def timezone(self) -> str:
        """The zone's IANA name, e.g. ``Europe/Paris``."""
        return self.zone.key

    def label(self) -> dict[str, str]:
        """The window as the fill plan states it."""
        return {
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "timezone": self.timezone,
        }

    def occurrence(self, now: datetime) -> tuple[datetime, datetime]:
        """The window running at ``now``, else the next one, as UTC instants."""
        today = now.astimezone(self.zone).date()
        for offset in (-1, 0, 1):
            day = today + timedelta(days=offset)
            start = datetime.combine(day, self.start, tzinfo=self.zone)
            end_day = day if self.end > self.start else day + timedelta(days=1)
            end = datetime.combine(end_day, self.end, tzinfo=self.zone)
            if end.astimezone(UTC) > now:
                return start.astimezone(UTC), end.astimezone(UTC)
        raise AssertionError("a daily window always occurs within a day")  # pragma: no cover

    def contains(self, now: datetime) -> bool:
        """Whether ``now`` (aware) falls inside the window."""
        local = now.astimezone(self.zone).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def current_start(self, now: datetime) -> datetime | None:
        """When the window holding ``now`` opened (UTC), or None outside it."""
        if not self.contains(now):
            return None
        local = now.astimezone(self.zone)
        opened = local.replace(
            hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0
        )
        if opened > local:  # a window spanning midnight, entered before it
            opened = _same_wall_time(opened - timedelta(days=1))
        return opened.astimezone(UTC)

    def next_start(self, now: datetime) -> datetime:
        """The next time the window opens strictly after ``now`` (UTC)."""
        local = now.astimezone(self.zone)
        candidate = local.replace(
            hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0
        )
        if candidate <= local:
            candidate = _same_wall_time(candidate + timedelta(days=1))
        return candidate.astimezone(UTC)


def _same_wall_time(moment: datetime) -> datetime:
    """``moment``'s wall-clock time re-read in its zone (days shifted across a DST change)."""
    return moment.replace(tzinfo=None).replace(tzinfo=moment.tzinfo)


@dataclass(frozen=True)
class FillItem:
    """One title to fill: its object paths and the token that opens them upstream."""

    title_id: str
    score: float
    size: int
    token: str
    paths: tuple[str, ...]
    edge: str | None = None  # the site's edge that owns the title (rendezvous hashing)


@dataclass(frozen=True)
class FillPlan:
    """What the control plane asks a site to hold before the next peak."""

    site: str
    window: FillWindow
    bandwidth_bytes_per_second: float  # the whole site's cap
    items: tuple[FillItem, ...]

    def for_edge(self, name: str) -> FillPlan:
        """The part of the plan one edge carries out, with its share of the site's cap.

        Each title is held by the edge steering sends its viewers to, so a site stores one
        copy of it (the site is one large cache); the owners split the cap evenly.
        """
        owners = {item.edge for item in self.items if item.edge is not None}
        share = self.bandwidth_bytes_per_second / max(len(owners | {name}), 1)
        mine = tuple(item for item in self.items if item.edge in (None, name))
        return FillPlan(self.site, self.window, share, mine)


def parse_plan(data: Any) -> FillPlan:
    """A plan from the control plane's JSON, checked; ``PlanError`` says what is wrong."""
    try:
        window = data["window"]
        zone = ZoneInfo(window.get("timezone", "Europe/Paris"))
        fill_window = FillWindow(
            time.fromisoformat(window["start"]), time.fromisoformat(window["end"]), zone
        )
        mbps = float(data["bandwidth_mbps"])
        items = tuple(
            FillItem(
                title_id=str(item["title_id"]),
                score=float(item.get("score", 0.0)),
                size=int(item.get("bytes", 0)),
                token=str(item["token"]),
                paths=tuple(_object_path(str(path)) for path in item["paths"]),
                edge=str(item["edge"]) if item.get("edge") is not None else None,
            )
            for item in data["items"]
        )
        site = str(data["site"])
    except (KeyError, TypeError, ValueError, UnsafePath) as error:
        raise PlanError(f"unusable fill plan: {error}") from None
    if mbps <= 0:
        raise PlanError("unusable fill plan: the bandwidth cap must be positive")
    return FillPlan(site, fill_window, mbps * 1_000_000 / 8, items)


def _object_path(path: str) -> str:
    """``path`` if it names one object (not a folder), else ``UnsafePath``."""
    if path.endswith("/"):
        raise UnsafePath("not an object path")
    return check_object_path(path)


@dataclass
class TokenBucket:
    """A bandwidth cap: ``rate`` bytes per second, bursts of at most ``burst`` bytes."""

    rate: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, now: float, burst_seconds: float = 1.0) -> TokenBucket:
        """A bucket allowing ``burst_seconds`` of traffic at once."""
        burst = max(rate * burst_seconds, 1.0)
        return cls(rate=rate, burst=burst, tokens=burst, updated=now)

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def consume(self, amount: int, now: float) -> float:
        """Take ``amount`` bytes; the seconds to wait before sending more (0 if none)."""
        self._refill(now)
        self.tokens -= amount
        if self.tokens >= 0:
            return 0.0
        return -self.tokens / self.rate


def fill_order(plan: FillPlan, have: set[str] | frozenset[str]) -> list[tuple[FillItem, str]]:
    """The ``(item, path)`` pairs still to fetch, in plan order, skipping what is held."""
    return [(item, path) for item in plan.items for path in item.paths if path not in have]


def due_window_start(
    window: FillWindow, now: datetime, last_run: datetime | None
) -> datetime | None:
    """The start of the window to run now: inside a window not yet run, else None."""
    opened = window.current_start(now)
    if opened is None or opened == last_run:
        return None
    return opened


def seconds_until_next_check(
    window: FillWindow | None, now: datetime, poll_seconds: float
) -> float:
    """How long to sleep before looking at the plan again: the poll, or less if a window opens."""
    if window is None:
        return poll_seconds
    until_open = (window.next_start(now) - now).total_seconds()
    return max(1.0, min(poll_seconds, until_open))
