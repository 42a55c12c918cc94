"""Read caches: an entry lives while the tables it was read from are unchanged."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select, text
from sqlalchemy.orm import Session

from cineflux.db import make_engine, make_session_factory, read_transaction, transaction
from cineflux.readcache import ReadCache, written_tables

metadata = MetaData()
films = Table("films", metadata, Column("id", Integer, primary_key=True), Column("name", String))
notes = Table("notes", metadata, Column("id", Integer, primary_key=True), Column("body", String))


class Ticker:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def factory(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'cache.db'}")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(films.insert(), [{"id": 1, "name": "Essai"}])
    yield make_session_factory(engine)
    engine.dispose()


def counted_read(session: Session, reads: list[int]) -> str:
    reads.append(1)
    return session.execute(select(films.c.name).where(films.c.id == 1)).scalar_one()


def cached_name(cache: ReadCache[str], factory, reads: list[int]) -> str:  # type: ignore[no-untyped-def]
    with read_transaction(factory) as session:
        return cache.get(session, 1, lambda: counted_read(session, reads))


@pytest.mark.parametrize(
    ("statement", "tables"),
    [
        ("INSERT INTO titles (id) VALUES (?)", {"titles"}),
        ('INSERT INTO "media_packages" (id) VALUES (%(id)s)', {"media_packages"}),
        ("insert or replace into rights_windows values (1)", {"rights_windows"}),
        ("REPLACE INTO content_keys VALUES (1)", {"content_keys"}),
        ("UPDATE cdn_edges SET load=? WHERE id=?", {"cdn_edges"}),
        ("UPDATE ONLY titles SET name = 'x'", {"titles"}),
        ("  DELETE FROM window_holdbacks WHERE id = ?", {"window_holdbacks"}),
        ("SELECT * FROM titles", set()),
        ("BEGIN IMMEDIATE", set()),
        ("PRAGMA foreign_keys=ON", set()),
        ("WITH gone AS (SELECT 1) DELETE FROM titles", None),
        ("TRUNCATE titles CASCADE", None),
        ("DROP TABLE titles", None),
        ("ALTER TABLE titles ADD COLUMN x INT", None),
    ],
)
def test_the_tables_a_statement_writes(statement: str, tables: set[str] | None) -> None:
    expected = None if tables is None else frozenset(tables)
    assert written_tables(statement) == expected


def test_a_value_is_read_once_while_its_tables_are_unchanged(factory) -> None:  # type: ignore[no-untyped-def]
    cache: ReadCache[str] = ReadCache({"films"})
    reads: list[int] = []
    assert [cached_name(cache, factory, reads) for _ in range(3)] == ["Essai"] * 3
    assert len(reads) == 1


def test_a_committed_write_to_its_table_is_seen_by_the_next_read(factory) -> None:  # type: ignore[no-untyped-def]
    cache: ReadCache[str] = ReadCache({"films"})
    reads: list[int] = []
    cached_name(cache, factory, reads)
    with transaction(factory) as session:
        session.execute(films.update().where(films.c.id == 1).values(name="Autre"))
    assert cached_name(cache, factory, reads) == "Autre"
    assert len(reads) == 2


def test_a_write_to_another_table_keeps_the_entry(factory) -> None:  # type: ignore[no-untyped-def]
    cache: ReadCache[str] = ReadCache({"films"})
    reads: list[int] = []
    cached_name(cache, factory, reads)
    with transaction(factory) as session:
        session.execute(notes.insert().values(id=1, body="x"))
    cached_name(cache, factory, reads)
    assert len(reads) == 1


def test_a_statement_of_unknown_tables_empties_every_cache(factory) -> None:  # type: ignore[no-untyped-def]
    cache: ReadCache[str] = ReadCache({"films"})
    reads: list[int] = []
    cached_name(cache, factory, reads)
    with transaction(factory) as session:
        session.execute(text("CREATE TABLE other (id INTEGER)"))
    cached_name(cache, factory, reads)
    assert len(reads) == 2


def test_a_rolled_back_write_does_not_leave_its_own_view_behind(factory) -> None:  # type: ignore[no-untyped-def]
    cache: ReadCache[str] = ReadCache({"films"})
    reads: list[int] = []
    with pytest.raises(RuntimeError), transaction(factory) as session:
        session.execute(films.update().values(name="Jamais"))
        # Read inside the writing transaction: its own uncommitted view, never kept.
        assert cache.get(session, 1, lambda: counted_read(session, reads)) == "Jamais"
        raise RuntimeError("rolled back")
    assert cached_name(cache, factory, reads) == "Essai"
    assert len(reads) == 2


def test_a_read_racing_a_commit_is_not_kept_past_it(factory) -> None:  # type: ignore[no-untyped-def]
    """The reader reads the old row while a writer is between its UPDATE and its commit;
    the writer's connection going back to the pool changes the version once more, so the
    old row is read again next time, not served until the entry expires."""
    cache: ReadCache[str] = ReadCache({"films"}, max_age_seconds=3600)
    reads: list[int] = []
    updated, read_done = threading.Event(), threading.Event()

    def writer() -> None:
        with transaction(factory) as session:
            session.execute(films.update().values(name="Nouveau"))
            updated.set()
            read_done.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    assert updated.wait(10)
    assert cached_name(cache, factory, reads) == "Essai"  # WAL: the last committed row
    read_done.set()
    thread.join(10)
    assert cached_name(cache, factory, reads) == "Nouveau"
    assert len(reads) == 2


def test_entries_expire_after_their_maximum_age(factory) -> None:  # type: ignore[no-untyped-def]
    ticker = Ticker()
    cache: ReadCache[str] = ReadCache({"films"}, max_age_seconds=5, monotonic=ticker)
    reads: list[int] = []
    cached_name(cache, factory, reads)
    ticker.now += 4.9
    cached_name(cache, factory, reads)
    assert len(reads) == 1
    ticker.now += 0.2
    cached_name(cache, factory, reads)
    assert len(reads) == 2


def test_an_engine_whose_writes_are_not_reported_is_never_cached(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(films.insert().values(id=1, name="Essai"))
    cache: ReadCache[str] = ReadCache({"films"})
    reads: list[int] = []
    factory = make_session_factory(engine)
    cached_name(cache, factory, reads)
    cached_name(cache, factory, reads)
    assert len(reads) == 2
