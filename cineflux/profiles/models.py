"""Profiles tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cineflux.db import Base, UTCDateTime, new_id


class Profile(Base):
    """Someone who watches within an account: name, avatar, language, limits."""

    __tablename__ = "profiles"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    avatar: Mapped[str] = mapped_column(String(40), default="blue")
    language: Mapped[str] = mapped_column(String(8), default="fr")
    kids: Mapped[bool] = mapped_column(Boolean, default=False)
    # The highest Arcom rating the profile may see: TP, 10, 12, 16 or 18.
    max_rating: Mapped[str] = mapped_column(String(4), default="16")
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AdultCode(Base):
    """The account's personal code for -18 titles, separate from its password (Arcom)."""

    __tablename__ = "adult_codes"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    code_hash: Mapped[str] = mapped_column(String(255))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ViewingEntry(Base):
    """Where a profile is in a title: the history and the resume point."""

    __tablename__ = "viewing_history"

    profile_id: Mapped[str] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True
    )
    title_id: Mapped[str] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
