"""QoE retention: raw events past their retention are deleted in bounded chunks, rollups
stay; and the per-account rate limit counts a sliding minute of received events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cineflux.accounts import service as accounts
from cineflux.clock import FrozenClock
from cineflux.telemetry import service as telemetry
from cineflux.telemetry.models import QoeEvent, QoeSessionHour
from cineflux.telemetry.service import BatchIn, EventIn, QoePolicy, QoeRateLimited

TITLE = "11111111-1111-4111-8111-111111111111"


@pytest.fixture
def user_id(db: Session, clock: FrozenClock) -> str:
    return accounts.create_user(
        db, clock=clock, email="qoe@example.org", password="a long test password"
    ).id


def report(db: Session, clock: FrozenClock, user_id: str, session_id: str, events: int) -> None:
    telemetry.record_batch(
        db,
        clock=clock,
        user_id=user_id,
        user_agent=None,
        batch=BatchIn(
            session_id=session_id,
            title_id=TITLE,
            edge="edge1.example",
            events=[EventIn(kind="played", duration_ms=1000)] * events,
        ),
    )


def test_events_past_retention_go_in_chunks_and_rollups_stay(
    db: Session, clock: FrozenClock, user_id: str
) -> None:
    report(db, clock, user_id, "old-session-1", 5)
    clock.advance(timedelta(days=20))
    report(db, clock, user_id, "new-session-1", 3)
    clock.advance(timedelta(days=11))  # the first batch is 31 days old, the second 11
    before = clock.now() - QoePolicy().retention
    assert telemetry.prune_events(db, before=before, limit=4) == 4
    assert telemetry.prune_events(db, before=before, limit=4) == 1
    assert telemetry.prune_events(db, before=before, limit=4) == 0
    assert [e.session_id for e in db.scalars(select(QoeEvent))] == ["new-session-1"] * 3
    # Reports read the rollups, which keep both sessions.
    assert {row.session_id for row in db.scalars(select(QoeSessionHour))} == {
        "old-session-1",
        "new-session-1",
    }


def test_the_rate_limit_counts_a_sliding_minute_of_the_accounts_events(
    db: Session, clock: FrozenClock, user_id: str
) -> None:
    policy = QoePolicy(events_per_minute=150)
    other = accounts.create_user(
        db, clock=clock, email="other@example.org", password="a long test password"
    ).id
    report(db, clock, user_id, "session-a", 100)
    clock.advance(timedelta(seconds=30))
    report(db, clock, other, "session-b", 100)  # another account's events do not count
    telemetry.check_rate(db, user_id=user_id, events=50, now=clock.now(), policy=policy)
    with pytest.raises(QoeRateLimited) as refused:
        telemetry.check_rate(db, user_id=user_id, events=51, now=clock.now(), policy=policy)
    assert refused.value.retry_after == 30  # when the first batch leaves the minute
    clock.advance(timedelta(seconds=30))
    telemetry.check_rate(db, user_id=user_id, events=100, now=clock.now(), policy=policy)


def test_a_limit_below_one_full_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="full batch"):
        QoePolicy(events_per_minute=99)
