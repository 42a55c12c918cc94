"""SQLite's WAL checkpoints in a serving process: on a thread of their own, not on commits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table

from cineflux import db
from cineflux.db import (
    WAL_RESTART_WAIT_MS,
    Checkpoint,
    checkpoint_wal,
    make_engine,
    start_wal_checkpointer,
)
from tests.conftest import POSTGRES_URL

rows = Table("rows", MetaData(), Column("id", Integer, primary_key=True), Column("payload", String))


@contextmanager
def checkpointer(engine: Engine, every_seconds: float) -> Iterator[threading.Event]:
    """The serving process's checkpointer on this engine; stopped (and joined) after."""
    started = start_wal_checkpointer(engine, every_seconds=every_seconds)
    assert started is not None
    thread, stop = started
    try:
        yield stop
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()


def test_a_serving_process_checkpoints_on_its_thread_and_never_on_commit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    rows.metadata.create_all(engine)
    with checkpointer(engine, 3600):  # the test checkpoints
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        # Far past the 1000 pages after which a commit would have checkpointed itself.
        for start in range(0, 3000, 100):
            with engine.begin() as connection:
                batch = [{"id": i, "payload": "x" * 2000} for i in range(start, start + 100)]
                connection.execute(rows.insert(), batch)
        checkpoint = checkpoint_wal(engine)
        assert checkpoint.wal_frames > 1000  # nothing was copied by a commit
        assert checkpoint.copied_frames == checkpoint.wal_frames
        assert not checkpoint.busy
    engine.dispose()


def _write(engine: Engine, start: int, count: int) -> None:
    with engine.begin() as connection:
        batch = [{"id": i, "payload": "x" * 2000} for i in range(start, start + count)]
        connection.execute(rows.insert(), batch)


def test_a_restarting_checkpoint_starts_the_log_over_and_cuts_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "WAL_SIZE_LIMIT_BYTES", 1024 * 1024)  # read at connect
    path = tmp_path / "wal.db"
    engine = make_engine(f"sqlite:///{path}")
    rows.metadata.create_all(engine)
    with checkpointer(engine, 3600):  # the test checkpoints
        for start in range(0, 6000, 200):
            _write(engine, start, 200)
        with engine.connect() as reader:  # a request reading while plays are written
            driver = reader.connection.driver_connection
            driver.execute("BEGIN")
            driver.execute("SELECT count(*) FROM rows").fetchone()
            assert checkpoint_wal(engine).copied_frames > 3000
            # Copied, but a reader is still in the log: the writer cannot start it over.
            _write(engine, 10_000, 1)
            driver.execute("ROLLBACK")
        assert checkpoint_wal(engine).wal_frames > 3000
        grown = Path(f"{path}-wal").stat().st_size
        assert not checkpoint_wal(engine, restart=True).busy
        _write(engine, 10_001, 1)  # the next writer starts the log from its beginning
        assert checkpoint_wal(engine).wal_frames < 10
        assert Path(f"{path}-wal").stat().st_size <= 1024 * 1024 < grown
    engine.dispose()


def test_the_checkpointer_restarts_the_log_once_it_is_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "WAL_RESTART_FRAMES", 500)
    seen: list[tuple[bool, Checkpoint]] = []

    def checkpoint_and_record(engine: Engine, *, restart: bool = False) -> Checkpoint:
        checkpoint = checkpoint_wal(engine, restart=restart)
        seen.append((restart, checkpoint))
        return checkpoint

    monkeypatch.setattr(db, "checkpoint_wal", checkpoint_and_record)
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    rows.metadata.create_all(engine)
    _write(engine, 0, 10)  # a short log: passive checkpoints only
    with checkpointer(engine, 0.02) as stop:
        deadline = time.monotonic() + 10
        while len(seen) < 3 and time.monotonic() < deadline:
            stop.wait(0.02)
        assert seen and not any(restart for restart, _ in seen)
        _write(engine, 100, 1000)  # past 500 frames
        while not any(restart for restart, _ in seen) and time.monotonic() < deadline:
            stop.wait(0.02)
    restarts = [index for index, (restart, _) in enumerate(seen) if restart]
    assert restarts, "no restarting checkpoint within 10 s"
    before = seen[restarts[0] - 1]
    assert before == (False, before[1]) and before[1].wal_frames >= 500
    engine.dispose()


def test_a_restarting_checkpoint_gives_up_soon_on_a_reader_still_in_the_log(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    rows.metadata.create_all(engine)
    _write(engine, 0, 100)
    with engine.connect() as reader:
        driver = reader.connection.driver_connection
        driver.execute("BEGIN")
        driver.execute("SELECT count(*) FROM rows").fetchone()  # a snapshot in the log
        _write(engine, 100, 100)
        began = time.monotonic()
        restarted = checkpoint_wal(engine, restart=True)
        waited_ms = (time.monotonic() - began) * 1000
        driver.execute("ROLLBACK")
    assert restarted.busy
    assert waited_ms < WAL_RESTART_WAIT_MS + 500  # not the 30 s writers wait
    engine.dispose()


def test_starting_the_checkpointer_adds_no_listener_to_an_engine_in_use(tmp_path: Path) -> None:
    # SQLAlchemy's listener lists are unlocked deques: one added while another thread runs
    # them raises "deque mutated during iteration" in that thread (seen at start-up, when
    # the ranking thread connected as the checkpointer began).
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    before = listener_counts(engine)
    with checkpointer(engine, 3600):
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        assert listener_counts(engine) == before
    engine.dispose()


def listener_counts(engine: Engine) -> dict[str, int]:
    """How many listeners each of the engine's and its pool's events has."""
    pool_events = {
        name: len(getattr(engine.pool.dispatch, name)) for name in ("connect", "checkin")
    }
    engine_events = {
        name: len(getattr(engine.dispatch, name)) for name in ("begin", "before_cursor_execute")
    }
    return pool_events | engine_events


def test_other_processes_connections_keep_checkpointing_on_their_own(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    engine.dispose()


def test_there_is_no_checkpointer_on_postgresql() -> None:
    if not POSTGRES_URL:
        pytest.skip("CINEFLUX_TEST_DATABASE_URL is not set (CI's second pass sets it)")
    engine = make_engine(POSTGRES_URL)
    assert start_wal_checkpointer(engine) is None
    engine.dispose()
