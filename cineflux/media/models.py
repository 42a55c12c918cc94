"""Media tables: the published package of each title and its renditions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cineflux.db import Base, UTCDateTime, new_id


class MediaPackage(Base):
    """The published CMAF package of a title: where it is stored and what it holds."""

    __tablename__ = "media_packages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title_id: Mapped[str] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), unique=True)
    storage_prefix: Mapped[str] = mapped_column(String(255), unique=True)
    dash_manifest: Mapped[str] = mapped_column(String(100))
    hls_manifest: Mapped[str] = mapped_column(String(100))
    poster: Mapped[str] = mapped_column(String(100))
    duration_seconds: Mapped[float] = mapped_column(Float)
    source_width: Mapped[int] = mapped_column(Integer)
    source_height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    renditions: Mapped[list[Rendition]] = relationship(
        back_populates="package",
        cascade="all, delete-orphan",
        order_by="Rendition.bandwidth",
        lazy="selectin",
    )


class Rendition(Base):
    """One representation of a package (a video rung or an audio track)."""

    __tablename__ = "media_renditions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    package_id: Mapped[str] = mapped_column(
        ForeignKey("media_packages.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))  # "video" | "audio"
    codecs: Mapped[str] = mapped_column(String(64))
    bandwidth: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)

    package: Mapped[MediaPackage] = relationship(back_populates="renditions")
