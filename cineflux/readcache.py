"""Read-through caches of rows that every play reads and almost nothing writes.

A play reads a dozen things that change a few times a day (the title, its package, its
rights windows, the chronologie's rule sets, its key ids, the edges) and a few that are
the viewer's own. Read every time, the first cost most of a play's CPU
(bench/playback.py). Cached blindly for seconds, a withdrawn title would go on playing.

Here, the engine reports every statement that writes (``track_writes``, installed by
``db.make_engine``): the tables it names get a new version when it runs, and again when
its connection goes back to the pool (after the commit or rollback, so an entry read
meanwhile from the old rows cannot outlive them). An entry keeps the versions of the
tables it was read from, taken before reading, and is used only while they are the same.
A statement whose tables cannot be told (DDL, ``TRUNCATE``, a write inside ``WITH``)
changes every version.

What this process does not see: writes by another process (a CLI command, a second server
process) and, at worst, a read transaction begun before a commit. Entries therefore also
expire after ``max_age_seconds`` of the monotonic clock, which bounds how stale any of them
can be: a few seconds, against a catalogue changed by hand or by feeds.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

V = TypeVar("V")

# A fresh number per change: next() on a count is atomic under the GIL, so two writers
# that change a table together never leave it at a number an entry already holds.
_numbers = itertools.count(1)
_versions: dict[str, int] = {}
# Changed by statements whose tables are unknown: part of every entry's versions.
_EVERYTHING = "*"
_WRITTEN = "cineflux_written_tables"

_WRITE = re.compile(
    r"""^\s*(?:
        (?:INSERT|REPLACE)(?:\s+OR\s+\w+)?\s+INTO
      | UPDATE(?:\s+OR\s+\w+)?
      | DELETE\s+FROM
    )\s+(?:ONLY\s+)?["`]?(?P<table>\w+)""",
    re.IGNORECASE | re.VERBOSE,
)
_READ = re.compile(
    r"^\s*(?:SELECT|PRAGMA|SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT|SHOW|SET)\b", re.I
)

_tracked: weakref.WeakSet[Engine] = weakref.WeakSet()


def written_tables(statement: str) -> frozenset[str] | None:
    """The tables a statement writes: empty when it only reads, None when it is unknown
    (DDL, TRUNCATE, a write inside WITH, anything else)."""
    match = _WRITE.match(statement)
    if match is not None:
        return frozenset({match["table"].lower()})
    if _READ.match(statement):
        return frozenset()
    return None


def _change(tables: Iterable[str]) -> None:
    for table in tables:
        _versions[table] = next(_numbers)


def track_writes(engine: Engine) -> None:
    """Report this engine's writes to the caches (and let them cache its reads)."""
    if engine in _tracked:
        return

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        tables = written_tables(statement)
        if tables is None or tables:
            note_write(connection, tables)

    @event.listens_for(engine.pool, "checkin")
    def _after_transaction(_dbapi_connection: Any, record: Any) -> None:
        # The record's info is the connection's: what it wrote is committed or undone now.
        written = record.info.pop(_WRITTEN, None) if record is not None else None
        if written:
            _change(written)

    _tracked.add(engine)


def note_write(connection: Any, tables: frozenset[str] | None) -> None:
    """A statement of this connection is about to write these tables (None: unknown ones);
    for statements run past the engine's listeners (``prepared``)."""
    changed = tables if tables is not None else frozenset({_EVERYTHING})
    connection.info.setdefault(_WRITTEN, set()).update(changed)
    _change(changed)


def versions_of(tables: frozenset[str]) -> tuple[int, ...]:
    """The current versions of these tables (and of the unknown writes)."""
    return (_versions.get(_EVERYTHING, 0), *(_versions.get(t, 0) for t in sorted(tables)))


@dataclass(frozen=True)
class _Entry(Generic[V]):
    versions: tuple[int, ...]
    read_at: float
    value: V


class ReadCache(Generic[V]):
    """Values read from these tables, per key and per engine, while the tables are
    unchanged and for at most ``max_age_seconds``."""

    def __init__(
        self,
        tables: Iterable[str],
        *,
        max_age_seconds: float = 5.0,
        max_entries: int = 4096,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tables = frozenset(t.lower() for t in tables)
        self._ordered = tuple(sorted(self.tables))
        self.max_age_seconds = max_age_seconds
        self.max_entries = max_entries
        self._monotonic = monotonic
        self._per_engine: weakref.WeakKeyDictionary[Engine, dict[Hashable, _Entry[V]]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def get(self, session: Session, key: Hashable, read: Callable[[], V]) -> V:
        """The cached value of ``key``, else ``read()`` (kept when its tables allow).

        ``read`` runs in the caller's transaction: what it returns must not be an entity
        of that session (it is shared by every later request): plain values, tuples,
        frozen dataclasses."""
        engine = session.get_bind()
        if not isinstance(engine, Engine) or engine not in _tracked:
            return read()
        versions = (_versions.get(_EVERYTHING, 0), *(_versions.get(t, 0) for t in self._ordered))
        now = self._monotonic()
        entries = self._per_engine.get(engine)
        if entries is not None:
            entry = entries.get(key)
            if (
                entry is not None
                and entry.versions == versions
                and now - entry.read_at < self.max_age_seconds
            ):
                return entry.value
        written = session.connection().info.get(_WRITTEN)
        value = read()
        if written and (_EVERYTHING in written or not written.isdisjoint(self.tables)):
            return value  # this transaction changed them: its own view is nobody else's
        with self._lock:
            entries = self._per_engine.setdefault(engine, {})
            if len(entries) >= self.max_entries:
                entries.clear()  # keys are few (titles played recently); never unbounded
            entries[key] = _Entry(versions, now, value)
        return value

    def clear(self) -> None:
        """Forget every entry (tests, and an operator's ``cache clear`` if ever needed)."""
        with self._lock:
            self._per_engine.clear()
