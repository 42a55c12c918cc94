"""Database engine, session factory, declarative base and schema upgrades."""

from __future__ import annotations

import logging
import sqlite3
import threading
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from cineflux.readcache import track_writes

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

log = logging.getLogger(__name__)

# Stable constraint names, so migrations autogenerate the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every ORM model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime.

    SQLite has no time zones: without this, values would come back naive there and aware on
    PostgreSQL, and comparisons with the clock would differ between the two.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def new_id() -> str:
    """An opaque identifier for anything a client may see."""
    return str(uuid.uuid4())


def make_engine(url: str) -> Engine:
    """An engine for ``url``, its writes reported to the read caches (``readcache``);
    SQLite gets WAL, foreign keys and a busy timeout."""
    engine = _new_engine(url)
    track_writes(engine)
    return engine


def _new_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control from pysqlite, which would otherwise delay BEGIN and
            # break SAVEPOINTs; SQLAlchemy then emits BEGIN itself (below).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # Reads through shared memory maps instead of a read() per page: the catalogue's
            # indexes are read far more than written (home rows, search).
            cursor.execute("PRAGMA mmap_size=1073741824")
            cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
            if engine in _CHECKPOINTED_BY_A_THREAD:
                cursor.execute("PRAGMA wal_autocheckpoint=0")  # start_wal_checkpointer
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # Deferred, so page reads run side by side under WAL; writers queue on the
            # busy timeout. A writing transaction (below) asks for IMMEDIATE instead.
            # On the driver's connection: these statements return nothing, and SQLAlchemy's
            # execution around each cost more than SQLite running it (every write began so).
            driver = connection.connection.driver_connection
            mode = connection.get_execution_options().get(_SQLITE_BEGIN)
            if mode != _NOWAIT:
                driver.execute("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")
                return
            driver.execute("PRAGMA busy_timeout=0")
            try:
                driver.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                raise WriteLockBusy("another connection holds SQLite's write lock") from error
            finally:
                driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")

        return engine
    return create_engine(url, pool_pre_ping=True)


# --- SQLite's WAL checkpoints, off the request path -------------------------------------

WAL_CHECKPOINT_SECONDS = 1.0


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint's outcome: WAL frames in all, and those copied to the database."""

    busy: bool
    wal_frames: int
    copied_frames: int


# Past this many frames in the WAL (64 MiB of 4 KiB pages), a checkpoint also restarts it.
WAL_RESTART_FRAMES = 16384
# How long a restarting checkpoint may keep writers out while readers leave the old log.
WAL_RESTART_WAIT_MS = 20
# The WAL file is cut back to this size when it restarts (it keeps its largest size else).
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024


def checkpoint_wal(engine: Engine, *, restart: bool = False) -> Checkpoint:
    """Copy committed WAL frames into the database file, beside readers and writers
    (``PASSIVE``: it never waits for them, and what it cannot copy waits for the next).

    ``restart``: then wait, ``WAL_RESTART_WAIT_MS`` at most and with writers held off, for
    the readers still in the log to leave it, so that the next writer starts it from its
    beginning (``RESTART``). Under steady load a passive checkpoint never sees the log
    empty, and the log never restarts: it grew to 430 MB in a minute of plays, and every
    page read searched an index as long (bench/playback.py ran slower after its load).
    """
    mode = "RESTART" if restart else "PASSIVE"
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None  # a live connection, checked out just now
        if restart:
            driver.execute(f"PRAGMA busy_timeout={WAL_RESTART_WAIT_MS}")
        try:
            busy, frames, copied = driver.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        finally:
            if restart:
                driver.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    return Checkpoint(bool(busy), frames, copied)


# SQLite engines whose process checkpoints from a thread of its own (start_wal_checkpointer).
_CHECKPOINTED_BY_A_THREAD: weakref.WeakSet[Engine] = weakref.WeakSet()


def start_wal_checkpointer(
    engine: Engine, *, every_seconds: float = WAL_CHECKPOINT_SECONDS
) -> tuple[threading.Thread, threading.Event] | None:
    """In a serving process on SQLite, checkpoint from a thread of its own.

    By default the commit that fills the WAL past 1000 pages copies them into the
    database and syncs it, there and then: a play now and then took 8 ms instead of 2,
    and every request queued behind its write lock waited as long (bench/playback.py).
    This process's connections stop doing it (``wal_autocheckpoint=0``), and a thread
    checkpoints every ``every_seconds``, the GIL released while SQLite copies. Other
    processes (the CLI, workers) keep checkpointing on their own. None on PostgreSQL.
    """
    if engine.dialect.name != "sqlite":
        return None
    # A flag the engine's connect listener reads, not a listener added now: SQLAlchemy's
    # listener lists are not locked, and adding one while another thread connected raised
    # "deque mutated during iteration" in that thread (the ranking thread, at start-up).
    _CHECKPOINTED_BY_A_THREAD.add(engine)
    engine.dispose()  # connections opened before keep checkpointing: replace them
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_seconds):
            try:
                checkpoint = checkpoint_wal(engine)
                if checkpoint.wal_frames >= WAL_RESTART_FRAMES:
                    checkpoint_wal(engine, restart=True)
            except Exception:  # a locked or busy moment must not end the loop
                log.exception("WAL checkpoint failed")

    thread = threading.Thread(target=loop, name="wal-checkpoint", daemon=True)
    thread.start()
    return thread, stop


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


_SQLITE_BEGIN = "cineflux_sqlite_begin"
_NOWAIT = "IMMEDIATE, without waiting"
# How long a SQLite unit of work waits for the write lock another connection holds.
SQLITE_BUSY_SECONDS = 30


class WriteLockBusy(Exception):
    """SQLite's write lock is held by another connection (``transaction(wait=False)``)."""


@contextmanager
def transaction(factory: sessionmaker[Session], *, wait: bool = True) -> Iterator[Session]:
    """One unit of work that may write: commit on success, roll back on any error.

    On SQLite it takes the database's write lock at BEGIN (``BEGIN IMMEDIATE``), so
    concurrent units of work queue on the busy timeout instead of failing: a deferred
    transaction that read before another one committed can no longer write (its WAL
    snapshot is stale, and SQLite answers "database is locked" at once, without waiting).
    PostgreSQL ignores it; callers lock the rows they serialise on there.

    ``wait=False``: on SQLite, ``WriteLockBusy`` at once rather than waiting for a lock
    another connection holds (for callers that must not block, see ``web.deps``).
    """
    with factory() as session, session.begin():
        session.connection(execution_options={_SQLITE_BEGIN: "IMMEDIATE" if wait else _NOWAIT})
        yield session


def holds_sqlite_write_lock(session: Session) -> bool:
    """Whether this session's transaction began by taking SQLite's write lock
    (``transaction()``): nothing else writes until it ends."""
    connection = session.connection()
    return connection.dialect.name == "sqlite" and connection.get_execution_options().get(
        _SQLITE_BEGIN
    ) in ("IMMEDIATE", _NOWAIT)


@contextmanager
def read_transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work that only reads: on SQLite, side by side with others under WAL."""
    with factory() as session, session.begin():
        yield session


def alembic_config(url: str) -> Any:
    """An Alembic configuration pointing at the packaged migrations."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """For Alembic: leave out the search index's engine-specific parts, which no model has."""
    if type_ == "table" and name is not None and name.startswith("title_search_fts"):
        return False
    return not (
        reflected and compare_to is None and name in ("document", "ix_title_search_document")
    )


def upgrade_schema(url: str, revision: str = "heads") -> None:
    """Apply migrations up to ``revision``; safe to run on an up-to-date database."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def schema_is_current(engine: Engine) -> bool:
    """Whether the database is at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == set(script.get_heads())
