"""QoE events on a real database: stored as sent (times clamped), rolled up per session,
hour and edge, and reported as percentiles per title, edge, device and hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cineflux.accounts import service as accounts
from cineflux.clock import FrozenClock
from cineflux.telemetry import service as telemetry
from cineflux.telemetry.metrics import MAX_EVENT_AGE
from cineflux.telemetry.models import QoeSessionHour
from cineflux.telemetry.service import BatchIn, EventIn

DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
TV = "Mozilla/5.0 (SMART-TV; LINUX; Tizen 7.0) AppleWebKit/537.36 Chrome/94.0 TV Safari/537.36"
TITLE_A = "11111111-1111-4111-8111-111111111111"
TITLE_B = "22222222-2222-4222-8222-222222222222"


@pytest.fixture
def user_id(db: Session, clock: FrozenClock) -> str:
    return accounts.create_user(
        db, clock=clock, email="qoe@example.org", password="a long test password"
    ).id


def record(
    db: Session,
    clock: FrozenClock,
    user_id: str,
    session_id: str,
    *events: EventIn,
    title: str = TITLE_A,
    edge: str = "edge1.example",
    user_agent: str = DESKTOP,
) -> None:
    telemetry.record_batch(
        db,
        clock=clock,
        user_id=user_id,
        user_agent=user_agent,
        batch=BatchIn(session_id=session_id, title_id=title, edge=edge, events=events),
    )


def test_events_are_stored_with_the_session_the_device_and_clamped_times(
    db: Session, clock: FrozenClock, user_id: str
) -> None:
    now = clock.now()
    record(
        db,
        clock,
        user_id,
        "session-0001",
        EventIn(kind="startup", duration_ms=700, at=now - timedelta(seconds=9)),
        EventIn(kind="rebuffer", duration_ms=1500, at=now + timedelta(hours=5)),
        EventIn(kind="error", error_code="1001", at=now - timedelta(days=3)),
        EventIn(kind="cmcd", cmcd_query="CMCD=br%3D3200%2Cbs%2Cot%3Dv%2Csid%3D%22s-1%22"),
        user_agent=TV,
    )
    events = telemetry.session_events(db, "session-0001")
    assert [e.kind for e in events] == ["error", "startup", "rebuffer", "cmcd"]
    error, startup, rebuffer, cmcd = events
    assert error.occurred_at == now - MAX_EVENT_AGE  # days ago is not believed
    assert startup.occurred_at == now - timedelta(seconds=9)
    assert rebuffer.occurred_at == now  # nor is the future
    assert cmcd.cmcd == {"br": 3200, "bs": True, "ot": "v", "sid": "s-1"}
    assert {(e.device_class, e.client_family, e.edge, e.title_id) for e in events} == {
        ("tv", "chrome", "edge1.example", TITLE_A)
    }
    assert all(e.user_id == user_id and e.received_at == now for e in events)


def test_malformed_cmcd_refuses_the_batch_naming_the_event(
    db: Session, clock: FrozenClock, user_id: str
) -> None:
    with pytest.raises(telemetry.InvalidQoeBatch, match="integer") as refused:
        record(
            db,
            clock,
            user_id,
            "session-0002",
            EventIn(kind="played", duration_ms=1000),
            EventIn(kind="cmcd", cmcd_query="CMCD=br%3Dfast"),
        )
    assert refused.value.index == 1


def test_batches_add_up_in_one_row_per_session_hour_and_edge(
    db: Session, clock: FrozenClock, user_id: str
) -> None:
    record(
        db,
        clock,
        user_id,
        "session-0003",
        EventIn(kind="startup", duration_ms=500),
        EventIn(kind="played", duration_ms=9000),
        EventIn(kind="bitrate", from_bps=None, to_bps=800_000),
    )
    record(
        db,
        clock,
        user_id,
        "session-0003",
        EventIn(kind="startup", duration_ms=9999),  # a second start does not replace the first
        EventIn(kind="rebuffer", count=2, duration_ms=1000),
        EventIn(kind="played", duration_ms=10_000),
        EventIn(kind="bitrate", from_bps=800_000, to_bps=3_200_000),
        EventIn(kind="error", error_code="3016"),
    )
    clock.advance(timedelta(hours=1))
    record(db, clock, user_id, "session-0003", EventIn(kind="played", duration_ms=4000))
    # Failover: the same session now served by another edge.
    record(
        db,
        clock,
        user_id,
        "session-0003",
        EventIn(kind="rebuffer", duration_ms=300),
        edge="edge2.example",
    )
    rows = db.scalars(
        select(QoeSessionHour).order_by(QoeSessionHour.hour, QoeSessionHour.edge)
    ).all()
    noon = datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert [
        (r.hour, r.edge, r.startup_ms, r.rebuffers, r.stall_ms, r.played_ms, r.switches, r.errors)
        for r in rows
    ] == [
        (noon, "edge1.example", 500, 2, 1000, 19_000, 2, 1),
        (noon + timedelta(hours=1), "edge1.example", None, 0, 0, 4000, 0, 0),
        (noon + timedelta(hours=1), "edge2.example", None, 1, 300, 0, 0, 0),
    ]


def test_report_gives_percentiles_per_title_edge_device_and_hour(
    db: Session, clock: FrozenClock, user_id: str
) -> None:
    start = clock.now()
    # Title A: ten sessions on edge1 from desktops, startups 100..1000 ms, one stalled.
    for n in range(1, 11):
        events = [
            EventIn(kind="startup", duration_ms=n * 100),
            EventIn(kind="played", duration_ms=9000 if n == 10 else 10_000),
        ]
        if n == 10:
            events.append(EventIn(kind="rebuffer", duration_ms=1000))
        record(db, clock, user_id, f"session-a{n:03d}", *events)
    # Title B, an hour later, two TV sessions on edge2.
    clock.advance(timedelta(hours=1))
    for n, startup in ((1, 2000), (2, 4000)):
        record(
            db,
            clock,
            user_id,
            f"session-b{n:03d}",
            EventIn(kind="startup", duration_ms=startup),
            EventIn(kind="played", duration_ms=6000),
            EventIn(kind="rebuffer", duration_ms=2000 * n),
            title=TITLE_B,
            edge="edge2.example",
            user_agent=TV,
        )
    by_title = {g.key: g for g in telemetry.qoe_report(db, since=start, by="title")}
    a, b = by_title[TITLE_A], by_title[TITLE_B]
    assert (a.sessions, a.startups, a.rebuffers, a.stall_ms) == (10, 10, 1, 1000)
    assert a.startup_ms == {"p50": 500, "p90": 900, "p99": 1000}
    assert a.rebuffer_ratio == {"p50": 0, "p90": 0, "p99": 0.1}
    assert b.startup_ms == {"p50": 2000, "p90": 4000, "p99": 4000}
    assert b.rebuffer_ratio == {"p50": 0.25, "p90": 0.4, "p99": 0.4}

    by_edge = {g.key: g for g in telemetry.qoe_report(db, since=start, by="edge")}
    assert set(by_edge) == {"edge1.example", "edge2.example"}
    assert by_edge["edge2.example"].sessions == 2
    by_device = {g.key: g for g in telemetry.qoe_report(db, since=start, by="device")}
    assert by_device["tv"].startup_ms == b.startup_ms
    assert by_device["desktop"].startup_ms == a.startup_ms
    by_hour = [g.key for g in telemetry.qoe_report(db, since=start, by="hour")]
    assert by_hour == ["2026-01-15T12:00Z", "2026-01-15T13:00Z"]

    # A window starting after the first hour leaves title A out.
    later = telemetry.qoe_report(db, since=start + timedelta(hours=1), by="title")
    assert [g.key for g in later] == [TITLE_B]


def test_report_of_an_empty_window_is_empty(db: Session, clock: FrozenClock) -> None:
    assert telemetry.qoe_report(db, since=clock.now(), by="edge") == []
