"""Recording the QoE events of players, and reporting their percentiles."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from cineflux.clock import Clock
from cineflux.telemetry.cmcd import InvalidCmcd, parse_cmcd_query
from cineflux.telemetry.metrics import device_of, hour_of, percentiles, rebuffer_ratio, trusted_time
from cineflux.telemetry.models import QoeEvent, QoeSessionHour

EventKind = Literal["startup", "rebuffer", "played", "bitrate", "error", "cmcd"]
GroupBy = Literal["title", "edge", "device", "hour"]
GROUPINGS: tuple[GroupBy, ...] = ("title", "edge", "device", "hour")
MAX_EVENTS_PER_BATCH = 100
# A report reads at most this many rollup rows: enough for a day of a national service's
# sessions; a longer window is summed by its caller from several reports.
MAX_REPORT_ROWS = 2_000_000


class TelemetryError(Exception):
    """Base of the telemetry domain's errors."""


class QoeRateLimited(TelemetryError):
    """The account sent more events in the last minute than its players ever need."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidQoeBatch(TelemetryError):
    """A batch of events the service cannot accept as it is."""

    def __init__(self, message: str, *, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


RATE_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class QoePolicy:
    """How much an account may report, and how long raw events are kept.

    A player sends a batch every 10 s of a handful of events (a full batch is 100); 600 a
    minute leaves room for several screens of one account and for bursts (a seek storm),
    and stops a script from filling the table. Rollups are kept: reports read only them.
    """

    events_per_minute: int = 600
    retention: timedelta = timedelta(days=30)

    def __post_init__(self) -> None:
        if self.events_per_minute < MAX_EVENTS_PER_BATCH:
            raise ValueError(f"the rate limit must admit one full batch ({MAX_EVENTS_PER_BATCH})")


@dataclass(frozen=True)
class EventIn:
    """One event as a player reported it (already checked for shape and bounds)."""

    kind: EventKind
    at: datetime | None = None
    duration_ms: int | None = None
    count: int | None = None
    from_bps: int | None = None
    to_bps: int | None = None
    error_code: str | None = None
    cmcd_query: str | None = None


@dataclass(frozen=True)
class BatchIn:
    """Events of one playback session, from one edge."""

    session_id: str
    title_id: str
    edge: str
    events: Sequence[EventIn]


@dataclass
class _Rollup:
    title_id: str
    device_class: str
    startup_ms: int | None = None
    rebuffers: int = 0
    stall_ms: int = 0
    played_ms: int = 0
    switches: int = 0
    errors: int = 0


def record_batch(
    session: Session, *, clock: Clock, user_id: str, user_agent: str | None, batch: BatchIn
) -> list[QoeEvent]:
    """Store a batch of events and add them to the hourly rollup; flushes, never commits."""
    if not batch.events:
        raise InvalidQoeBatch("a batch holds at least one event")
    if len(batch.events) > MAX_EVENTS_PER_BATCH:
        raise InvalidQoeBatch(f"a batch holds at most {MAX_EVENTS_PER_BATCH} events")
    now = clock.now()
    device_class, family = device_of(user_agent)
    stored: list[QoeEvent] = []
    rollups: dict[datetime, _Rollup] = {}
    for index, event in enumerate(batch.events):
        cmcd: dict[str, Any] | None = None
        if event.kind == "cmcd":
            try:
                cmcd = dict(parse_cmcd_query(event.cmcd_query or ""))
            except InvalidCmcd as error:
                raise InvalidQoeBatch(str(error), index=index) from None
        occurred = trusted_time(event.at, now=now)
        stored.append(
            QoeEvent(
                session_id=batch.session_id,
                user_id=user_id,
                title_id=batch.title_id,
                edge=batch.edge,
                device_class=device_class,
                client_family=family,
                kind=event.kind,
                occurred_at=occurred,
                received_at=now,
                duration_ms=event.duration_ms,
                count=event.count,
                from_bps=event.from_bps,
                to_bps=event.to_bps,
                error_code=event.error_code,
                cmcd=cmcd,
            )
        )
        rollup = rollups.setdefault(
            hour_of(occurred), _Rollup(title_id=batch.title_id, device_class=device_class)
        )
        _add(rollup, event)
    session.add_all(stored)
    session.flush()
    for hour, rollup in rollups.items():
        _upsert(session, session_id=batch.session_id, hour=hour, edge=batch.edge, rollup=rollup)
    return stored


def check_rate(
    session: Session, *, user_id: str, events: int, now: datetime, policy: QoePolicy
) -> None:
    """Refuse (``QoeRateLimited``) a batch that would take the account past its limit of
    events received over the last minute, saying when enough of them will have left it.

    Counted from the stored events (an index range), so every server process shares the
    limit; concurrent batches may overshoot it by the few that race, as sign-in limits do.
    """
    since = now - RATE_WINDOW
    recent = (QoeEvent.user_id == user_id, QoeEvent.received_at > since)
    count = session.scalar(select(func.count()).select_from(QoeEvent).where(*recent)) or 0
    excess = count + events - policy.events_per_minute
    if excess <= 0:
        return
    # The window admits the batch once its ``excess`` oldest events have left it.
    leaves = session.scalar(
        select(QoeEvent.received_at)
        .where(*recent)
        .order_by(QoeEvent.received_at)
        .offset(excess - 1)
        .limit(1)
    )
    wait = (leaves + RATE_WINDOW - now).total_seconds() if leaves is not None else 60.0
    raise QoeRateLimited(
        f"at most {policy.events_per_minute} QoE events a minute per account",
        retry_after=max(1, math.ceil(wait)),
    )


def prune_events(session: Session, *, before: datetime, limit: int = 10_000) -> int:
    """Delete up to ``limit`` raw events that happened before ``before``; how many went.

    Bounded so that each call is a short transaction; rollups are never touched.
    """
    doomed = select(QoeEvent.id).where(QoeEvent.occurred_at < before).limit(limit)
    result = session.execute(
        delete(QoeEvent)
        .where(QoeEvent.id.in_(doomed.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _add(rollup: _Rollup, event: EventIn) -> None:
    if event.kind == "startup" and rollup.startup_ms is None:
        rollup.startup_ms = event.duration_ms  # a session starts once; a later load is a seek
    elif event.kind == "rebuffer":
        rollup.rebuffers += event.count or 1
        rollup.stall_ms += event.duration_ms or 0
    elif event.kind == "played":
        rollup.played_ms += event.duration_ms or 0
    elif event.kind == "bitrate":
        rollup.switches += 1
    elif event.kind == "error":
        rollup.errors += 1


def _upsert(
    session: Session, *, session_id: str, hour: datetime, edge: str, rollup: _Rollup
) -> None:
    """Add to the session's row for the hour in one statement, atomic under concurrency
    (``INSERT … ON CONFLICT DO UPDATE`` on both engines)."""
    table = QoeSessionHour.__table__
    values = {
        "session_id": session_id,
        "hour": hour,
        "edge": edge,
        "title_id": rollup.title_id,
        "device_class": rollup.device_class,
        "startup_ms": rollup.startup_ms,
        "rebuffers": rollup.rebuffers,
        "stall_ms": rollup.stall_ms,
        "played_ms": rollup.played_ms,
        "switches": rollup.switches,
        "errors": rollup.errors,
    }
    dialect = session.get_bind().dialect.name
    statement: Any = (
        postgresql_insert(QoeSessionHour)
        if dialect == "postgresql"
        else sqlite_insert(QoeSessionHour)
    ).values(**values)
    excluded = statement.excluded
    counters = ("rebuffers", "stall_ms", "played_ms", "switches", "errors")
    statement = statement.on_conflict_do_update(
        index_elements=["session_id", "hour", "edge"],
        set_={
            "startup_ms": func.coalesce(table.c.startup_ms, excluded.startup_ms),
            **{name: table.c[name] + excluded[name] for name in counters},
        },
    )
    session.execute(statement)


def session_events(session: Session, session_id: str) -> list[QoeEvent]:
    """The events of one playback session, oldest first (for diagnosis)."""
    return list(
        session.scalars(
            select(QoeEvent)
            .where(QoeEvent.session_id == session_id)
            .order_by(QoeEvent.occurred_at, QoeEvent.received_at)
        )
    )


@dataclass
class GroupReport:
    """The QoE of one group (a title, an edge, a device class or an hour)."""

    key: str
    sessions: int = 0
    startups: int = 0
    rebuffers: int = 0
    stall_ms: int = 0
    played_ms: int = 0
    switches: int = 0
    errors: int = 0
    startup_ms: dict[str, float] | None = None
    rebuffer_ratio: dict[str, float] | None = None

    def to_json(self) -> dict[str, Any]:
        """The report as JSON for scripts."""
        return asdict(self)


@dataclass
class _GroupSessions:
    """Per session of a group: its startup time, stall and playing time."""

    startup_ms: dict[str, int] = field(default_factory=dict)
    watch: dict[str, tuple[int, int]] = field(default_factory=dict)


def qoe_report(
    session: Session, *, since: datetime, until: datetime | None = None, by: GroupBy = "title"
) -> list[GroupReport]:
    """Startup-time and rebuffer-ratio percentiles per group, over sessions since ``since``.

    Hours are whole: a window starting at 12:30 takes the rows of 12:00. A session's
    rebuffer ratio is its stall time over its watch time within the group (a session
    served by two edges counts once for each); sessions that watched nothing have none.
    """
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUPINGS)}")
    query = select(QoeSessionHour).where(QoeSessionHour.hour >= hour_of(since))
    if until is not None:
        query = query.where(QoeSessionHour.hour < until)
    groups: dict[str, GroupReport] = {}
    per_session: dict[str, _GroupSessions] = defaultdict(_GroupSessions)
    for count, row in enumerate(session.scalars(query.execution_options(yield_per=5000))):
        if count >= MAX_REPORT_ROWS:
            raise TelemetryError(f"more than {MAX_REPORT_ROWS} session-hours: shorten --since")
        key = _key(row, by)
        group = groups.setdefault(key, GroupReport(key=key))
        group.rebuffers += row.rebuffers
        group.stall_ms += row.stall_ms
        group.played_ms += row.played_ms
        group.switches += row.switches
        group.errors += row.errors
        sessions = per_session[key]
        if row.startup_ms is not None:
            # A session starts once; should a second start be reported, the first counts.
            seen = sessions.startup_ms.get(row.session_id)
            sessions.startup_ms[row.session_id] = (
                row.startup_ms if seen is None else min(seen, row.startup_ms)
            )
        stall, played = sessions.watch.get(row.session_id, (0, 0))
        sessions.watch[row.session_id] = (stall + row.stall_ms, played + row.played_ms)
    for key, group in groups.items():
        sessions = per_session[key]
        group.sessions = len(sessions.watch)
        group.startups = len(sessions.startup_ms)
        group.startup_ms = percentiles(float(ms) for ms in sessions.startup_ms.values())
        ratios = (rebuffer_ratio(stall, played) for stall, played in sessions.watch.values())
        group.rebuffer_ratio = percentiles(r for r in ratios if r is not None)
    return sorted(groups.values(), key=lambda g: g.key)


def _key(row: QoeSessionHour, by: GroupBy) -> str:
    if by == "title":
        return row.title_id
    if by == "edge":
        return row.edge
    if by == "device":
        return row.device_class
    return row.hour.strftime("%Y-%m-%dT%H:00Z")
