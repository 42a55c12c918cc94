"""SQLite's WAL checkpoints in a serving process: on a thread of their own, not on commits."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table

from cineflux.db import checkpoint_wal, make_engine, start_wal_checkpointer
from tests.conftest import POSTGRES_URL

rows = Table("rows", MetaData(), Column("id", Integer, primary_key=True), Column("payload", String))


def test_a_serving_process_checkpoints_on_its_thread_and_never_on_commit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    rows.metadata.create_all(engine)
    started = start_wal_checkpointer(engine, every_seconds=3600)  # the test checkpoints
    assert started is not None
    thread, stop = started
    try:
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
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    engine.dispose()


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
