"""Catalogue service on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from cineflux.catalog import service as catalog
from cineflux.clock import FrozenClock


def test_titles_list_newest_first(db: Session, clock: FrozenClock) -> None:
    first = catalog.create_title(db, clock=clock, name="Premier", year=2020)
    clock.advance(timedelta(minutes=1))
    second = catalog.create_title(db, clock=clock, name="  Second   film ", year=None)
    assert second.name == "Second film"
    assert catalog.list_titles(db) == []  # nothing published yet
    assert [t.id for t in catalog.list_titles(db, published_only=False)] == [second.id, first.id]
    catalog.mark_published(db, first.id, at=clock.now())
    assert [t.id for t in catalog.list_titles(db)] == [first.id]
    published_at = catalog.get_title(db, first.id).published_at
    clock.advance(timedelta(days=1))
    catalog.mark_published(db, first.id, at=clock.now())
    assert catalog.get_title(db, first.id).published_at == published_at


def test_title_lookup_by_id_or_exact_name(db: Session, clock: FrozenClock) -> None:
    title = catalog.create_title(db, clock=clock, name="Amélie", year=2001)
    assert catalog.get_title(db, title.id).name == "Amélie"
    assert [t.id for t in catalog.find_titles(db, "Amélie")] == [title.id]
    assert catalog.find_titles(db, "amelie") == []
    with pytest.raises(catalog.TitleNotFound):
        catalog.get_title(db, "00000000-0000-0000-0000-000000000000")


@pytest.mark.parametrize(("name", "year"), [("   ", 2000), ("x" * 301, 2000), ("Ok", 1500)])
def test_invalid_titles_are_refused(db: Session, clock: FrozenClock, name: str, year: int) -> None:
    with pytest.raises(catalog.InvalidTitle):
        catalog.create_title(db, clock=clock, name=name, year=year)
