"""Playback tables: each authorised play, and one lock row per account that serialises them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cineflux.db import Base, UTCDateTime


class PlaybackAccount(Base):
    """One row per account that ever played: admissions lock it, so they count one at a time.

    Counting the account's live sessions and adding one must not interleave with another
    request of the same account; locking this row (PostgreSQL) or the database (SQLite)
    makes them queue per account without touching the accounts domain's tables.
    """

    __tablename__ = "playback_accounts"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    admissions_checked: Mapped[int] = mapped_column(Integer, default=0)


class PlaybackSession(Base):
    """A play the service authorised: it counts against the plan while its player beats."""

    __tablename__ = "playback_sessions"
    __table_args__ = (
        # The admission count reads the account's sessions by their last heartbeat, and
        # whether they stopped: from this index alone, without their rows.
        Index(
            "ix_playback_sessions_user_id_last_heartbeat_at_stopped_at",
            "user_id",
            "last_heartbeat_at",
            "stopped_at",
        ),
    )

    # Random, 1-64 of [A-Za-z0-9_-]: it goes into edge tokens and QoE reports.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    profile_id: Mapped[str] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), index=True
    )
    title_id: Mapped[str] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    storage_prefix: Mapped[str] = mapped_column(String(255))
    territory: Mapped[str] = mapped_column(String(2))
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    device: Mapped[dict[str, Any]] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    position_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    play_counted: Mapped[bool] = mapped_column(Boolean, default=False)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
