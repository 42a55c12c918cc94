"""Proactive fill: the off-peak window, each title's history, and the plan's shape. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cineflux.delivery.errors import InvalidFillWindow
from cineflux.edge.fill import FillWindow

_WINDOW = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")


def parse_fill_window(text: str, timezone: str) -> FillWindow:
    """``"02:00-06:00"`` in ``timezone``, or ``InvalidFillWindow``."""
    match = _WINDOW.fullmatch(text.strip())
    if match is None:
        raise InvalidFillWindow(f"fill window {text!r} is not HH:MM-HH:MM (e.g. 02:00-06:00)")
    start = time(int(match[1]), int(match[2]))
    end = time(int(match[3]), int(match[4]))
    if start == end:
        raise InvalidFillWindow("a fill window cannot start and end at the same time")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidFillWindow(f"unknown time zone {timezone!r}") from None
    return FillWindow(start, end, zone)


def history(plays_by_day: Mapping[date, int], *, today: date, days: int) -> list[int]:
    """Plays on each of the ``days`` days up to ``today``, oldest first."""
    return [plays_by_day.get(today - timedelta(days=back), 0) for back in range(days - 1, -1, -1)]


@dataclass(frozen=True)
class FillItem:
    """One package for a site's edges to fetch ahead of demand."""

    title_id: str
    score: float
    size_bytes: int
    edge: str | None  # the edge rendezvous hashing gives the title to (None: no edge alive)
    token: str
    paths: Sequence[str]


@dataclass(frozen=True)
class FillPlan:
    """A site's plan for the coming off-peak window, best title first."""

    site: str
    generated_at: datetime
    window: FillWindow
    window_start: datetime
    window_end: datetime
    bandwidth_mbps: float
    capacity_bytes: int
    items: Sequence[FillItem]

    @property
    def total_bytes(self) -> int:
        """Bytes of every package in the plan."""
        return sum(item.size_bytes for item in self.items)

    @property
    def window_bytes(self) -> int:
        """What the bandwidth cap lets through in one window."""
        seconds = (self.window_end - self.window_start).total_seconds()
        return int(self.bandwidth_mbps * 1_000_000 / 8 * seconds)

    def to_json(self) -> dict[str, Any]:
        """The plan as edges read it (``GET /api/cdn/sites/{site}/fill-plan``)."""
        return {
            "site": self.site,
            "generated_at": self.generated_at.isoformat(),
            "window": self.window.label(),
            "bandwidth_mbps": self.bandwidth_mbps,
            "capacity_bytes": self.capacity_bytes,
            "items": [
                {
                    "title_id": item.title_id,
                    "score": item.score,
                    "bytes": item.size_bytes,
                    "edge": item.edge,
                    "token": item.token,
                    "paths": list(item.paths),
                }
                for item in self.items
            ],
        }
