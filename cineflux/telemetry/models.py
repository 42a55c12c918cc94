"""QoE tables: the events players report, and their rollup per session, hour and edge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cineflux.db import Base, UTCDateTime, new_id


class QoeEvent(Base):
    """One event a player reported, as received (its time clamped to the server's clock).

    The playback session id is opaque and carries no foreign key: telemetry arrives for
    sessions the playback service may have forgotten already, and must outlive them.
    """

    __tablename__ = "qoe_events"
    __table_args__ = (
        # The per-account rate limit counts the events received in the last minute.
        Index("ix_qoe_events_user_id_received_at", "user_id", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    session_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title_id: Mapped[str] = mapped_column(String(64))
    edge: Mapped[str] = mapped_column(String(255))
    device_class: Mapped[str] = mapped_column(String(16))
    client_family: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # startup: time to first frame; rebuffer: stall time; played: time spent playing.
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    count: Mapped[int | None] = mapped_column(Integer)
    from_bps: Mapped[int | None] = mapped_column(BigInteger)
    to_bps: Mapped[int | None] = mapped_column(BigInteger)
    error_code: Mapped[str | None] = mapped_column(String(32))
    cmcd: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class QoeSessionHour(Base):
    """What one playback session did in one UTC hour on one edge: the rollup reports read.

    Percentiles do not add up, so the rollup keeps the session in its key: any grouping
    (title, edge, device, hour) can then take exact percentiles over sessions, from rows
    far fewer than the events, updated by one upsert per batch.
    """

    __tablename__ = "qoe_session_hours"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True, index=True)
    edge: Mapped[str] = mapped_column(String(255), primary_key=True)
    title_id: Mapped[str] = mapped_column(String(64))
    device_class: Mapped[str] = mapped_column(String(16))
    startup_ms: Mapped[int | None] = mapped_column(BigInteger)
    rebuffers: Mapped[int] = mapped_column(Integer)
    stall_ms: Mapped[int] = mapped_column(BigInteger)
    played_ms: Mapped[int] = mapped_column(BigInteger)
    switches: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
