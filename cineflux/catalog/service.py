"""Catalogue: registering and listing titles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cineflux.catalog.models import Title
from cineflux.clock import Clock


class CatalogError(Exception):
    """Base of the catalogue's errors."""


class TitleNotFound(CatalogError):
    """No title has this id."""


class InvalidTitle(CatalogError):
    """Title data that cannot be accepted."""


def validate_title(name: str, year: int | None) -> tuple[str, int | None]:
    """A cleaned name and year, or ``InvalidTitle``."""
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidTitle("a title needs a name")
    if len(cleaned) > 300:
        raise InvalidTitle("the name is longer than 300 characters")
    if year is not None and not 1878 <= year <= 2100:
        raise InvalidTitle(f"{year} is not a plausible year for a film")
    return cleaned, year


def create_title(
    session: Session, *, clock: Clock, name: str, year: int | None, title_id: str | None = None
) -> Title:
    """Register a title."""
    name, year = validate_title(name, year)
    title = Title(name=name, year=year, created_at=clock.now())
    if title_id is not None:
        title.id = title_id
    session.add(title)
    session.flush()
    return title


def mark_published(session: Session, title_id: str, *, at: datetime) -> None:
    """Make a title visible to subscribers from ``at`` (kept if it was published before)."""
    title = get_title(session, title_id)
    if title.published_at is None:
        title.published_at = at
        session.flush()


def get_title(session: Session, title_id: str) -> Title:
    """The title with this id, or ``TitleNotFound``."""
    title = session.get(Title, title_id)
    if title is None:
        raise TitleNotFound(title_id)
    return title


def list_titles(
    session: Session, *, limit: int = 100, offset: int = 0, published_only: bool = True
) -> list[Title]:
    """Titles, newest first; by default only those subscribers may see."""
    statement = select(Title).order_by(Title.created_at.desc(), Title.id)
    if published_only:
        statement = statement.where(Title.published_at.is_not(None))
    return list(session.scalars(statement.limit(limit).offset(offset)))


def find_titles(session: Session, reference: str) -> list[Title]:
    """Titles matching an id or an exact name."""
    by_id = session.get(Title, reference)
    if by_id is not None:
        return [by_id]
    return list(session.scalars(select(Title).where(Title.name == reference)))
