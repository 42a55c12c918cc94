"""Catalogue tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cineflux.db import Base, UTCDateTime, new_id


class Title(Base):
    """A film offered by the service."""

    __tablename__ = "titles"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(300), index=True)
    year: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when the title first becomes playable; subscribers only see published titles.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
