"""Delivery network tables: sites and the edges that heartbeat into them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cineflux.db import Base, UTCDateTime, new_id


class Site(Base):
    """A place holding edges (a city's data centre, an ISP's building).

    Its geography (client networks, countries, coordinates, neighbours) lives in the
    coverage zone file, like Apache Traffic Control's; the table is the registry edges join.
    """

    __tablename__ = "cdn_sites"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    edges: Mapped[list[Edge]] = relationship(back_populates="site", order_by="Edge.name")


class Edge(Base):
    """A cache server, known from its heartbeats: what it last reported and its rotation."""

    __tablename__ = "cdn_edges"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("cdn_sites.id", ondelete="CASCADE"), index=True)
    base_url: Mapped[str] = mapped_column(String(255))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())
    healthy: Mapped[bool] = mapped_column(Boolean)
    load: Mapped[float] = mapped_column(Float)
    egress_bps: Mapped[int] = mapped_column(BigInteger)
    capacity_bps: Mapped[int] = mapped_column(BigInteger)
    open_connections: Mapped[int] = mapped_column(Integer)
    disk_used_bytes: Mapped[int] = mapped_column(BigInteger)
    disk_capacity_bytes: Mapped[int] = mapped_column(BigInteger)
    # As decided at the last heartbeat; silence since then is judged when read (health.py).
    in_rotation: Mapped[bool] = mapped_column(Boolean)
    rotation_since: Mapped[datetime] = mapped_column(UTCDateTime())
    rotation_reason: Mapped[str] = mapped_column(String(40))

    site: Mapped[Site] = relationship(back_populates="edges", lazy="joined")
