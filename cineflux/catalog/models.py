"""Catalogue tables: titles (films, series, seasons, episodes) and what describes them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cineflux.db import Base, UTCDateTime, new_id

TITLE_KINDS = ("movie", "series", "season", "episode")
# Arcom's signalétique jeunesse: "tous publics", then the minimum ages.
AGE_RATINGS = ("TP", "10", "12", "16", "18")


class Title(Base):
    """A film, a series, one of its seasons or one of their episodes."""

    __tablename__ = "titles"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16), default="movie", server_default="movie")
    # Season -> series, episode -> season.
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int | None] = mapped_column(Integer)  # of the season, or of the episode
    name: Mapped[str] = mapped_column(String(300), index=True)
    year: Mapped[int | None] = mapped_column(Integer)
    original_language: Mapped[str | None] = mapped_column(String(35))
    # ISO 3166-1 alpha-2 codes, comma-separated.
    production_countries: Mapped[str] = mapped_column(String(200), default="", server_default="")
    fr_release_date: Mapped[date | None] = mapped_column(Date)
    first_free_tv_broadcast: Mapped[date | None] = mapped_column(Date)
    european_work: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    french_language_work: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    age_rating: Mapped[str] = mapped_column(String(4), default="TP", server_default="TP")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when the title first becomes playable; subscribers only see published titles.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # Where the end credits start in a film or episode (set by the operator): watching past
    # it completes the title, and the player offers the next episode from there.
    credits_start_seconds: Mapped[float | None] = mapped_column(Float)

    localizations: Mapped[list[TitleLocalization]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    genres: Mapped[list[TitleGenre]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class TitleLocalization(Base):
    """A title's name and synopsis in one language."""

    __tablename__ = "title_localizations"

    title_id: Mapped[str] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(35), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    synopsis: Mapped[str] = mapped_column(Text, default="", server_default="")


class Genre(Base):
    """A genre, named in French and English."""

    __tablename__ = "genres"

    slug: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_fr: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(80))


class TitleGenre(Base):
    """A title belongs to a genre."""

    __tablename__ = "title_genres"

    title_id: Mapped[str] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True
    )
    genre_slug: Mapped[str] = mapped_column(
        ForeignKey("genres.slug", ondelete="CASCADE"), primary_key=True, index=True
    )


class Person(Base):
    """Someone credited on titles."""

    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), index=True)


class Credit(Base):
    """A person's role on a title (director, actor as a character, writer...)."""

    __tablename__ = "credits"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title_id: Mapped[str] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    character: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)


class Artwork(Base):
    """An image of a title: poster, backdrop or logo, optionally for one language."""

    __tablename__ = "artworks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    title_id: Mapped[str] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(35))
    url: Mapped[str] = mapped_column(String(500))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)


class TitleIdentifier(Base):
    """An identifier a partner uses for a title (avails ALID, content id, EIDR)."""

    __tablename__ = "title_identifiers"

    scheme: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(300), primary_key=True)
    title_id: Mapped[str] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)


class TitlePlays(Base):
    """How many plays a title had in a territory on a day: the Top 10 reads this."""

    __tablename__ = "title_plays"
    __table_args__ = (Index("ix_title_plays_territory_day", "territory", "day"),)

    title_id: Mapped[str] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True
    )
    territory: Mapped[str] = mapped_column(String(2), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    plays: Mapped[int] = mapped_column(Integer, default=0)


class TopTitle(Base):
    """A territory's most played titles over the seven days to ``day``, ranked.

    Computed once a day from ``title_plays`` (as services publish their Top 10 daily), so a
    home screen reads ten rows by key instead of summing a week of plays.
    """

    __tablename__ = "top_titles"

    territory: Mapped[str] = mapped_column(String(2), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    title_id: Mapped[str] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    plays: Mapped[int] = mapped_column(Integer)


class TitleSearch(Base):
    """The text a title is found by, already folded and stemmed (see ``catalog.search``).

    SQLite indexes it with an FTS5 table kept in step by triggers, PostgreSQL with a GIN
    index over ``to_tsvector``; both are created by the migration, outside this model.
    """

    __tablename__ = "title_search"

    # An integer key: SQLite's FTS5 refers to rows by rowid, which must never change.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title_id: Mapped[str] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), unique=True)
    names: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
