"""Prepared statements: the same rows, types, errors and cache invalidation as SQLAlchemy's
own execution, on the driver's cursor (run on SQLite, and on PostgreSQL when asked)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cineflux import readcache
from cineflux.accounts import service as accounts
from cineflux.clock import FrozenClock
from cineflux.playback.models import PlaybackSession
from cineflux.prepared import Prepared, session_connection
from cineflux.profiles import service as profiles
from tests.factories import make_title

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SESSIONS = PlaybackSession.__table__
assert isinstance(SESSIONS, Table)

INSERT = Prepared(insert(SESSIONS))
BY_ID = Prepared(select(*SESSIONS.c).where(SESSIONS.c.id == bindparam("id")))
STOPPED = Prepared(
    update(SESSIONS).where(SESSIONS.c.id == bindparam("session_id")).values(stopped_at=T0)
)
COUNTED_SINCE = Prepared(
    select(SESSIONS.c.id).where(
        SESSIONS.c.user_id == bindparam("user_id"),
        SESSIONS.c.last_heartbeat_at > bindparam("since"),
    )
)


def a_play(db: Session) -> dict[str, Any]:
    """The columns of a play, of a new account's profile and a new title."""
    clock = FrozenClock(T0)
    user = accounts.create_user(db, clock=clock, email="ana@example.org", password="x" * 12)
    profile = profiles.ensure_first_profile(db, clock=clock, user_id=user.id, name="Ana")
    title = make_title(db, clock, "Essai")
    return {
        "id": "play-1",
        "user_id": user.id,
        "profile_id": profile.id,
        "title_id": title.id,
        "storage_prefix": f"titles/{title.id}/",
        "territory": "FR",
        "duration_seconds": 5400.5,
        "device": {"codecs": ["avc1", "mp4a"], "max_height": 1080, "drm": []},
        "started_at": T0,
        "last_heartbeat_at": T0 + timedelta(seconds=30),
        "position_seconds": 12.25,
        "play_counted": True,
        "stopped_at": None,
    }


def test_a_row_written_and_read_by_the_driver_is_the_one_sqlalchemy_reads(db: Session) -> None:
    values = a_play(db)
    assert INSERT.execute(db, values) == 1
    through_sqlalchemy = db.connection().execute(
        select(*SESSIONS.c).where(SESSIONS.c.id == "play-1")
    )
    expected = through_sqlalchemy.one()
    row = BY_ID.first(db, {"id": "play-1"})
    assert tuple(row) == tuple(expected)
    # Types as the models declare them: aware UTC datetimes, JSON, booleans, floats.
    assert row.started_at == T0 and row.started_at.tzinfo is not None
    assert row.device == values["device"]
    assert row.play_counted is True
    assert row.position_seconds == 12.25
    assert row.stopped_at is None
    entity = db.get(PlaybackSession, "play-1")
    assert entity is not None and entity.last_heartbeat_at == values["last_heartbeat_at"]


def test_an_absent_row_is_none_and_parameters_bind_by_type(db: Session) -> None:
    assert BY_ID.first(db, {"id": "no-such-play"}) is None
    values = a_play(db)
    INSERT.execute(db, values)
    # A datetime parameter goes through the column type's bind processing, as in SQLAlchemy.
    since = values["last_heartbeat_at"] - timedelta(seconds=1)
    assert COUNTED_SINCE.scalar(db, {"user_id": values["user_id"], "since": since}) == "play-1"
    later = values["last_heartbeat_at"]
    assert COUNTED_SINCE.scalar(db, {"user_id": values["user_id"], "since": later}) is None


def test_a_write_reaches_the_read_caches(db: Session) -> None:
    INSERT.execute(db, a_play(db))
    before = readcache.versions_of(frozenset({"playback_sessions"}))
    assert STOPPED.execute(db, {"session_id": "play-1"}) == 1
    assert readcache.versions_of(frozenset({"playback_sessions"})) != before
    reads_only = readcache.versions_of(frozenset({"playback_sessions"}))
    BY_ID.first(db, {"id": "play-1"})
    assert readcache.versions_of(frozenset({"playback_sessions"})) == reads_only


def test_driver_errors_are_raised_as_sqlalchemy_raises_them(db: Session) -> None:
    values = a_play(db)
    INSERT.execute(db, values)
    with pytest.raises(IntegrityError):
        INSERT.execute(db, values)  # the same primary key


def test_a_missing_parameter_is_named(db: Session) -> None:
    with pytest.raises(TypeError, match="missing parameters \\['since'\\]"):
        COUNTED_SINCE.first(db, {"user_id": "someone"})


def test_expanding_parameters_are_refused(db: Session) -> None:
    statement = Prepared(
        select(SESSIONS.c.id).where(SESSIONS.c.id.in_(bindparam("ids", expanding=True)))
    )
    with pytest.raises(TypeError, match="expanding"):
        statement.first(db, {"ids": ["a", "b"]})


def test_the_session_connection_is_kept_per_transaction(db: Session) -> None:
    first = session_connection(db)
    assert session_connection(db) is first is db.connection()
    db.rollback()  # a new transaction may get another connection: asked for again
    assert session_connection(db) is db.connection()
