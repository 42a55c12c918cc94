"""Rights tables: licence windows, their holdbacks, chronologie rule sets, availability."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cineflux.db import Base, UTCDateTime, new_id

# Stored instead of NULL for open-ended availability, so "closes after" is one index range.
OPEN_END = datetime(9999, 12, 31, tzinfo=UTC)


class RightsWindow(Base):
    """The right to offer a title in a territory under a licence type, for a span of time."""

    __tablename__ = "rights_windows"
    __table_args__ = (
        Index("ix_rights_windows_title_territory", "title_id", "territory", "license_type"),
        UniqueConstraint("licensor", "transaction_id", name="uq_rights_windows_transaction"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title_id: Mapped[str] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"))
    territory: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    license_type: Mapped[str] = mapped_column(String(8))  # SVOD TVOD EST AVOD FVOD
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    format_cap: Mapped[str] = mapped_column(String(4), default="HD")  # SD HD UHD
    # BCP 47 tags, comma-separated; empty means no restriction.
    audio_languages: Mapped[str] = mapped_column(String(500), default="")
    subtitle_languages: Mapped[str] = mapped_column(String(500), default="")
    # Where the window came from: an avails transaction (licensor + id), or the operator.
    licensor: Mapped[str] = mapped_column(String(200), default="")
    transaction_id: Mapped[str | None] = mapped_column(String(200))
    alid: Mapped[str | None] = mapped_column(String(300), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    holdbacks: Mapped[list[WindowHoldback]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="WindowHoldback.starts_at"
    )


class WindowHoldback(Base):
    """A span inside a window when the title must be withdrawn."""

    __tablename__ = "window_holdbacks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    window_id: Mapped[str] = mapped_column(
        ForeignKey("rights_windows.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(300), default="")


class ChronologyRuleSet(Base):
    """One dated version of the chronologie des médias, stored as data with its source."""

    __tablename__ = "chronology_rule_sets"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    in_force_from: Mapped[date] = mapped_column(Date, unique=True)
    source: Mapped[str] = mapped_column(Text)
    months: Mapped[dict[str, int]] = mapped_column(JSON)
    svod_months: Mapped[dict[str, int]] = mapped_column(JSON)


class Availability(Base):
    """A span when a browsable title (film or series) may be offered: derived, never edited.

    Recomputed from windows, holdbacks and rule sets whenever one of them changes, so home
    rows and search filter with index ranges instead of re-deciding 100,000 titles.
    """

    __tablename__ = "availability"
    # Covering indexes: every home row is one range scan that never reads the table itself.
    __table_args__ = (
        Index(
            "ix_availability_opening",
            "territory",
            "license_type",
            "starts_at",
            "ends_at",
            "minimum_age",
            "kind",
            "genres",
            "title_id",
        ),
        Index(
            "ix_availability_closing",
            "territory",
            "license_type",
            "ends_at",
            "starts_at",
            "minimum_age",
            "title_id",
        ),
        Index(
            "ix_availability_title",
            "title_id",
            "territory",
            "license_type",
            "starts_at",
            "ends_at",
            "minimum_age",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title_id: Mapped[str] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"))
    territory: Mapped[str] = mapped_column(String(2))
    license_type: Mapped[str] = mapped_column(String(8))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())  # OPEN_END when open-ended
    # Copied from the title so that rows filter while scanning one index, without joins.
    minimum_age: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(16), default="movie")
    genres: Mapped[str] = mapped_column(String(400), default="")  # ",drama,comedy,"
