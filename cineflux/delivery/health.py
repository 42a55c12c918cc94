"""Whether an edge is in rotation: pure decisions over heartbeats, with hysteresis.

An edge leaves rotation when it reports itself unhealthy, when its load reaches the overload
threshold, or when it misses heartbeats; it returns only once it heartbeats again, healthy,
with its load under a lower threshold, so an edge hovering near the limit does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cineflux.config import Settings

SERVING = "serving"
MISSED_HEARTBEATS = "missed heartbeats"
UNHEALTHY = "reported unhealthy"
OVERLOADED = "overloaded"
COOLING_DOWN = "load above the return threshold"


@dataclass(frozen=True)
class HealthPolicy:
    """Heartbeat period and load thresholds (``recover_below`` < ``overload``)."""

    heartbeat_seconds: int = 10
    missed_heartbeats: int = 3
    overload: float = 0.9
    recover_below: float = 0.75

    def __post_init__(self) -> None:
        if not 0 < self.recover_below < self.overload:
            raise ValueError("the return threshold must be under the overload threshold")
        if self.heartbeat_seconds < 1 or self.missed_heartbeats < 1:
            raise ValueError("heartbeats need a positive period and count")

    @property
    def silence_limit(self) -> timedelta:
        """How long an edge may stay silent and still be in rotation."""
        return timedelta(seconds=self.heartbeat_seconds * self.missed_heartbeats)

    @classmethod
    def from_settings(cls, settings: Settings) -> HealthPolicy:
        """The policy of the ``CINEFLUX_CDN_*`` settings."""
        return cls(
            heartbeat_seconds=settings.cdn_heartbeat_seconds,
            missed_heartbeats=settings.cdn_missed_heartbeats,
            overload=settings.cdn_overload,
            recover_below=settings.cdn_recover_below,
        )


@dataclass(frozen=True)
class Rotation:
    """In or out of rotation, since when, and why."""

    in_rotation: bool
    since: datetime
    reason: str


def effective_load(load: float, egress_bps: int, capacity_bps: int) -> float:
    """The higher of the load an edge reports and its egress over its link capacity."""
    link = egress_bps / capacity_bps if capacity_bps > 0 else 0.0
    return max(0.0, load, link)


def rotation_at(
    recorded: Rotation, *, last_heartbeat_at: datetime, now: datetime, policy: HealthPolicy
) -> Rotation:
    """The rotation at ``now``: as recorded at the last heartbeat, unless silent too long."""
    went_silent_at = last_heartbeat_at + policy.silence_limit
    if now <= went_silent_at:
        return recorded
    since = went_silent_at if recorded.in_rotation else recorded.since
    return Rotation(in_rotation=False, since=since, reason=MISSED_HEARTBEATS)


def rotation_after_heartbeat(
    current: Rotation | None, *, healthy: bool, load: float, at: datetime, policy: HealthPolicy
) -> Rotation:
    """The rotation after a heartbeat; ``current`` is None for an edge's first one."""
    was_in = current is not None and current.in_rotation
    if not healthy:
        return _out(current, at, UNHEALTHY)
    if load >= policy.overload:
        return _out(current, at, OVERLOADED)
    if was_in or load < policy.recover_below:
        # Between the thresholds an edge keeps whichever state it was in: the hysteresis.
        if current is not None and current.in_rotation:
            return current
        return Rotation(in_rotation=True, since=at, reason=SERVING)
    return _out(current, at, COOLING_DOWN)


def _out(current: Rotation | None, at: datetime, reason: str) -> Rotation:
    since = current.since if current is not None and not current.in_rotation else at
    return Rotation(in_rotation=False, since=since, reason=reason)
