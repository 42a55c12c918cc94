"""Media tables: encoding jobs and their tasks, published packages and their renditions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cineflux.db import Base, UTCDateTime, new_id


class MediaJob(Base):
    """The encoding of one title: its plan, its state, and how far it got."""

    __tablename__ = "media_jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title_id: Mapped[str] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(
        String(16), default="queued"
    )  # queued|running|succeeded|failed
    source_key: Mapped[str] = mapped_column(String(400))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_phase: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    playable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    tasks: Mapped[list[MediaTask]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="MediaTask.priority"
    )


class MediaTask(Base):
    """One unit of encoding work, claimed by a worker under a lease."""

    __tablename__ = "media_tasks"
    __table_args__ = (UniqueConstraint("job_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("media_jobs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # video|audio|text|poster
    phase: Mapped[int] = mapped_column(Integer)
    priority: Mapped[int] = mapped_column(Integer, index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    weight: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)

    job: Mapped[MediaJob] = relationship(back_populates="tasks")


class MediaPackage(Base):
    """The published CMAF package of a title: where it is stored and what it holds."""

    __tablename__ = "media_packages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title_id: Mapped[str] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), unique=True)
    storage_prefix: Mapped[str] = mapped_column(String(255), unique=True)
    dash_manifest: Mapped[str] = mapped_column(String(100))
    hls_manifest: Mapped[str] = mapped_column(String(100))
    poster: Mapped[str] = mapped_column(String(100))
    thumbnails: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="complete")  # playable|complete
    # Kept to rewrite manifests later; deferred, as nothing on a play's path reads it (and
    # the package query joins its renditions: the JSON was decoded once per rendition).
    layout: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    duration_seconds: Mapped[float] = mapped_column(Float)
    source_width: Mapped[int] = mapped_column(Integer)
    source_height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    renditions: Mapped[list[Rendition]] = relationship(
        back_populates="package",
        cascade="all, delete-orphan",
        order_by="Rendition.bandwidth",
        lazy="selectin",
    )


class Rendition(Base):
    """One published track of a package: a video rung, an audio language, a subtitle."""

    __tablename__ = "media_renditions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    package_id: Mapped[str] = mapped_column(
        ForeignKey("media_packages.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # "video" | "audio" | "text"
    track_id: Mapped[str | None] = mapped_column(String(100))
    codecs: Mapped[str] = mapped_column(String(64))
    bandwidth: Mapped[int] = mapped_column(Integer)
    average_bandwidth: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    frame_rate: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(35))
    name: Mapped[str | None] = mapped_column(String(100))
    forced: Mapped[bool | None] = mapped_column()
    vmaf: Mapped[float | None] = mapped_column(Float)

    package: Mapped[MediaPackage] = relationship(back_populates="renditions")
