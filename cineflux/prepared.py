"""Core statements of the hottest routes, run on the database driver's own cursor.

A play runs half a dozen small statements. Through ``Connection.execute`` each one built an
execution context, looked its compiled form up, wrapped the cursor in a result and its rows
in ``Row`` objects: more CPU than SQLite spent running it (bench/playback.py). A
``Prepared`` statement is the same Core statement, compiled once per dialect with the
same bind and result processors (so types read and write exactly as through SQLAlchemy),
executed on the cursor of the session's connection, inside the session's transaction.

What the engine's ``before_cursor_execute`` listeners would have seen, these report
themselves: the tables a statement writes go to the read caches (``readcache``), as any
other write does. Any other listener of the engine's cursor events (statement timing,
tracing: none today) would not see them unless it is called from ``Prepared._run`` too.
Only statements without ORM entities can be prepared: plain columns, ``INSERT``,
``UPDATE`` and ``DELETE`` of a table.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from cineflux import readcache

Processor = Callable[[Any], Any]


@dataclass
class _Compiled:
    """A statement's SQL for one dialect, and how to bind its parameters and read its rows."""

    sql: str
    # Bind names in the order of the SQL's placeholders (positional drivers), else None.
    positions: tuple[str, ...] | None
    defaults: dict[str, Any]
    required: frozenset[str]
    bind_processors: dict[str, Processor]
    row_type: Callable[..., Any] | None
    # The selected columns' types: their processors depend on what the driver says it
    # returned (PostgreSQL's numeric types), so they are made at the first fetch.
    column_types: tuple[Any, ...]
    writes: frozenset[str] | None
    result_processors: tuple[Processor | None, ...] | None = None


class Prepared:
    """A Core statement run on the driver's cursor (see the module's docstring)."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._per_dialect: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def _compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._per_dialect.get(dialect.name)
        if compiled is None:
            with self._lock:
                compiled = self._per_dialect.get(dialect.name)
                if compiled is None:
                    compiled = self._per_dialect[dialect.name] = _compile(self.statement, dialect)
        return compiled

    def _run(
        self, session: Session, params: Mapping[str, Any], fetch: bool
    ) -> tuple[_Compiled, Any]:
        connection = session_connection(session)
        compiled = self._compiled(connection.dialect)
        values = {**compiled.defaults, **params}
        missing = compiled.required - values.keys()
        if missing:
            raise TypeError(f"missing parameters {sorted(missing)} of: {compiled.sql}")
        for name, process in compiled.bind_processors.items():
            values[name] = process(values[name])
        bound: Any = values
        if compiled.positions is not None:
            bound = tuple(values[name] for name in compiled.positions)
        if compiled.writes is None or compiled.writes:
            readcache.note_write(connection, compiled.writes)
        cursor = connection.connection.cursor()
        try:
            cursor.execute(compiled.sql, bound)
            if not fetch:
                return compiled, cursor.rowcount
            if compiled.result_processors is None:
                compiled.result_processors = _result_processors(
                    compiled.column_types, cursor.description, connection.dialect
                )
            return compiled, cursor.fetchone()
        except connection.dialect.loaded_dbapi.Error as error:
            raise _wrapped(connection, cursor, compiled.sql, bound, error) from error
        finally:
            cursor.close()

    def execute(self, session: Session, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; how many rows it changed."""
        _, count = self._run(session, params, fetch=False)
        return int(count)

    def first(self, session: Session, params: Mapping[str, Any]) -> Any | None:
        """The first row (a named tuple of the selected columns), or None."""
        compiled, raw = self._run(session, params, fetch=True)
        if raw is None:
            return None
        return _row(compiled, raw)

    def scalar(self, session: Session, params: Mapping[str, Any]) -> Any | None:
        """The first column of the first row, or None."""
        row = self.first(session, params)
        return None if row is None else row[0]


# Where a session keeps the connection of its transaction for ``session_connection``.
_CONNECTION = "cineflux_prepared_connection"


def session_connection(session: Session) -> Connection:
    """The connection of the session's transaction, as ``session.connection()`` gives it.

    Kept in the session's info with the transaction it belongs to, and asked for again
    when that transaction ended: ``session.connection()`` walks the session's state
    machine, which cost a play as much CPU as two of its statements."""
    transaction = session.get_transaction()
    kept = session.info.get(_CONNECTION)
    if kept is not None and transaction is not None and kept[0] is transaction:
        connection: Connection = kept[1]
        return connection
    connection = session.connection()
    session.info[_CONNECTION] = (session.get_transaction(), connection)
    return connection


def _wrapped(connection: Connection, cursor: Any, sql: str, params: Any, error: Any) -> Exception:
    """The driver's error as SQLAlchemy raises it (``IntegrityError``, ...), the connection
    invalidated first when the error says it was lost, as SQLAlchemy does."""
    dialect = connection.dialect
    if dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor):
        connection.invalidate(error)
    wrapped: Exception = DBAPIError.instance(
        sql, params, error, dialect.loaded_dbapi.Error, dialect=dialect
    )
    return wrapped


def _row(compiled: _Compiled, raw: Any) -> Any:
    assert compiled.row_type is not None and compiled.result_processors is not None, (
        "a statement without columns returns no rows"
    )
    return compiled.row_type(
        *(
            value if process is None or value is None else process(value)
            for process, value in zip(compiled.result_processors, raw, strict=True)
        )
    )


def _result_processors(
    types: tuple[Any, ...], description: Any, dialect: Dialect
) -> tuple[Processor | None, ...]:
    return tuple(
        kind.result_processor(dialect, column[1])
        for kind, column in zip(types, description, strict=True)
    )


def _row_class(names: list[str]) -> Callable[..., Any]:
    # Rows read like SQLAlchemy's: by position, or by column name as attributes.
    return namedtuple("PreparedRow", names, rename=True)


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    processors: dict[str, Processor] = {}
    defaults: dict[str, Any] = {}
    required: set[str] = set()
    for bind in compiled.binds.values():
        name = compiled.bind_names[bind]
        if bind.expanding or bind.literal_execute:
            raise TypeError(f"a prepared statement takes no expanding parameter ({name})")
        if bind.required:
            required.add(name)
        else:
            defaults[name] = bind.effective_value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[name] = process
    positions = None
    if compiled.positional and compiled.positiontup:
        positions = tuple(compiled.positiontup)
    columns = getattr(statement, "selected_columns", None)
    row_type: Callable[..., Any] | None = None
    column_types: tuple[Any, ...] = ()
    if columns is not None and len(columns):
        row_type = _row_class(list(columns.keys()))
        column_types = tuple(column.type.dialect_impl(dialect) for column in columns)
    return _Compiled(
        sql=compiled.string,
        positions=positions,
        defaults=defaults,
        required=frozenset(required),
        bind_processors=processors,
        row_type=row_type,
        column_types=column_types,
        writes=readcache.written_tables(compiled.string),
    )
