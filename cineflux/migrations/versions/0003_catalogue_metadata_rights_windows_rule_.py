"""catalogue metadata, rights windows, rule sets, availability, search

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 15:47:09.263422
"""

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from alembic import op

import cineflux.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chronology_rule_sets",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("in_force_from", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("months", sa.JSON(), nullable=False),
        sa.Column("svod_months", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_chronology_rule_sets")),
        sa.UniqueConstraint("in_force_from", name=op.f("uq_chronology_rule_sets_in_force_from")),
    )
    op.create_table(
        "genres",
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name_fr", sa.String(length=80), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_genres")),
    )
    op.create_table(
        "people",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_name"), ["name"], unique=False)

    op.create_table(
        "artworks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_artworks_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artworks")),
    )
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_artworks_title_id"), ["title_id"], unique=False)

    op.create_table(
        "availability",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.Column("territory", sa.String(length=2), nullable=False),
        sa.Column("license_type", sa.String(length=8), nullable=False),
        sa.Column("starts_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("minimum_age", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("genres", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_availability_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability")),
    )
    with op.batch_alter_table("availability", schema=None) as batch_op:
        batch_op.create_index(
            "ix_availability_closing",
            ["territory", "license_type", "ends_at", "starts_at", "minimum_age", "title_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_availability_opening",
            [
                "territory",
                "license_type",
                "starts_at",
                "ends_at",
                "minimum_age",
                "kind",
                "genres",
                "title_id",
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_availability_title",
            ["title_id", "territory", "license_type", "starts_at", "ends_at", "minimum_age"],
            unique=False,
        )

    op.create_table(
        "credits",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.Column("person_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("character", sa.String(length=200), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_credits_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["title_id"], ["titles.id"], name=op.f("fk_credits_title_id_titles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credits")),
    )
    with op.batch_alter_table("credits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credits_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_credits_title_id"), ["title_id"], unique=False)

    op.create_table(
        "rights_windows",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.Column("territory", sa.String(length=2), nullable=False),
        sa.Column("license_type", sa.String(length=8), nullable=False),
        sa.Column("starts_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("format_cap", sa.String(length=4), nullable=False),
        sa.Column("audio_languages", sa.String(length=500), nullable=False),
        sa.Column("subtitle_languages", sa.String(length=500), nullable=False),
        sa.Column("licensor", sa.String(length=200), nullable=False),
        sa.Column("transaction_id", sa.String(length=200), nullable=True),
        sa.Column("alid", sa.String(length=300), nullable=True),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_rights_windows_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rights_windows")),
        sa.UniqueConstraint("licensor", "transaction_id", name="uq_rights_windows_transaction"),
    )
    with op.batch_alter_table("rights_windows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rights_windows_alid"), ["alid"], unique=False)
        batch_op.create_index(
            "ix_rights_windows_title_territory",
            ["title_id", "territory", "license_type"],
            unique=False,
        )

    op.create_table(
        "title_genres",
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.Column("genre_slug", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["genre_slug"],
            ["genres.slug"],
            name=op.f("fk_title_genres_genre_slug_genres"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_title_genres_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("title_id", "genre_slug", name=op.f("pk_title_genres")),
    )
    with op.batch_alter_table("title_genres", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_title_genres_genre_slug"), ["genre_slug"], unique=False
        )

    op.create_table(
        "title_identifiers",
        sa.Column("scheme", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=300), nullable=False),
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_title_identifiers_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("scheme", "value", name=op.f("pk_title_identifiers")),
    )
    with op.batch_alter_table("title_identifiers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_title_identifiers_title_id"), ["title_id"], unique=False
        )

    op.create_table(
        "title_localizations",
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("synopsis", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_title_localizations_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("title_id", "language", name=op.f("pk_title_localizations")),
    )
    op.create_table(
        "title_plays",
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.Column("territory", sa.String(length=2), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("plays", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_title_plays_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("title_id", "territory", "day", name=op.f("pk_title_plays")),
    )
    with op.batch_alter_table("title_plays", schema=None) as batch_op:
        batch_op.create_index("ix_title_plays_territory_day", ["territory", "day"], unique=False)

    op.create_table(
        "top_titles",
        sa.Column("territory", sa.String(length=2), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.Column("plays", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_top_titles_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("territory", "day", "rank", name=op.f("pk_top_titles")),
    )
    with op.batch_alter_table("top_titles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_top_titles_title_id"), ["title_id"], unique=False)

    op.create_table(
        "title_search",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_title_search_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_title_search")),
        sa.UniqueConstraint("title_id", name=op.f("uq_title_search_title_id")),
    )
    op.create_table(
        "window_holdbacks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("window_id", sa.String(length=36), nullable=False),
        sa.Column("starts_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["window_id"],
            ["rights_windows.id"],
            name=op.f("fk_window_holdbacks_window_id_rights_windows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_window_holdbacks")),
    )
    with op.batch_alter_table("window_holdbacks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_window_holdbacks_window_id"), ["window_id"], unique=False
        )

    with op.batch_alter_table("titles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="movie", nullable=False)
        )
        batch_op.add_column(sa.Column("parent_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("original_language", sa.String(length=35), nullable=True))
        batch_op.add_column(
            sa.Column(
                "production_countries", sa.String(length=200), server_default="", nullable=False
            )
        )
        batch_op.add_column(sa.Column("fr_release_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("first_free_tv_broadcast", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("european_work", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("french_language_work", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("age_rating", sa.String(length=4), server_default="TP", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_titles_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_titles_parent_id_titles"),
            "titles",
            ["parent_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("home_country", sa.String(length=2), nullable=True))
        batch_op.add_column(
            sa.Column(
                "home_country_verified_at", cineflux.db.UTCDateTime(timezone=True), nullable=True
            )
        )

    _create_search_index()
    _seed_rule_sets()
    _seed_genres()


# The chronologie des médias as it stood when this migration was written; later rule sets
# arrive as data (`cineflux rights rule-sets add`), not as schema changes.
RULE_SETS = [
    (
        "fr-2009",
        "2009-07-12",
        "Accord pour le réaménagement de la chronologie des médias du 6 juillet 2009, "
        "étendu par arrêté du 9 juillet 2009 (JORF 12 juillet 2009)",
        {"TVOD": 4, "EST": 4, "AVOD": 48, "FVOD": 48, "FREE_TV": 22},
        {"svod-signatory": 36, "svod-other": 36, "svod-investor": 36},
    ),
    (
        "fr-2019",
        "2019-02-11",
        "Accord du 21 décembre 2018 pour le réaménagement de la chronologie des médias, "
        "étendu par arrêté du 25 janvier 2019",
        {"TVOD": 4, "EST": 4, "AVOD": 44, "FVOD": 44, "FREE_TV": 22},
        {"svod-signatory": 36, "svod-other": 36, "svod-investor": 36},
    ),
    (
        "fr-2022",
        "2022-02-10",
        "Accord pour le réaménagement de la chronologie des médias du 24 janvier 2022, "
        "étendu par arrêté du 4 février 2022 (JORF 9 février 2022); Netflix signatory at 15 "
        "months",
        {"TVOD": 4, "EST": 4, "AVOD": 44, "FVOD": 44, "FREE_TV": 22},
        {"svod-signatory": 15, "svod-other": 17, "svod-investor": 17},
    ),
    (
        "fr-2025",
        "2025-02-13",
        "Accord de février 2025 modifiant la chronologie des médias (Disney+ investor at 9 "
        "months), étendu par arrêté; in force 13 February 2025",
        {"TVOD": 4, "EST": 4, "AVOD": 44, "FVOD": 44, "FREE_TV": 22},
        {"svod-signatory": 15, "svod-other": 17, "svod-investor": 9},
    ),
]

GENRES = [
    ("action", "Action", "Action"),
    ("adventure", "Aventure", "Adventure"),
    ("animation", "Animation", "Animation"),
    ("comedy", "Comédie", "Comedy"),
    ("crime", "Policier", "Crime"),
    ("documentary", "Documentaire", "Documentary"),
    ("drama", "Drame", "Drama"),
    ("family", "Famille", "Family"),
    ("fantasy", "Fantastique", "Fantasy"),
    ("horror", "Horreur", "Horror"),
    ("music", "Musique", "Music"),
    ("romance", "Romance", "Romance"),
    ("science-fiction", "Science-fiction", "Science fiction"),
    ("thriller", "Thriller", "Thriller"),
    ("war", "Guerre", "War"),
    ("western", "Western", "Western"),
]


def _seed_rule_sets() -> None:
    table = sa.table(
        "chronology_rule_sets",
        sa.column("name", sa.String),
        sa.column("in_force_from", sa.Date),
        sa.column("source", sa.Text),
        sa.column("months", sa.JSON),
        sa.column("svod_months", sa.JSON),
    )
    op.bulk_insert(
        table,
        [
            {
                "name": name,
                "in_force_from": date.fromisoformat(day),
                "source": source,
                "months": months,
                "svod_months": svod,
            }
            for name, day, source, months, svod in RULE_SETS
        ],
    )


def _seed_genres() -> None:
    table = sa.table(
        "genres",
        sa.column("slug", sa.String),
        sa.column("name_fr", sa.String),
        sa.column("name_en", sa.String),
    )
    op.bulk_insert(table, [{"slug": s, "name_fr": fr, "name_en": en} for s, fr, en in GENRES])


def _create_search_index() -> None:
    """FTS5 on SQLite, a generated tsvector with a GIN index on PostgreSQL.

    The text is folded (accents, case) and stemmed in Python before it is stored, so both
    engines only tokenise on spaces and match words or prefixes: results agree between them.
    Prefixes start at three letters (catalog.search.MIN_PREFIX_CHARS): FTS5 keeps prefix
    indexes of 3 to 5 letters, PostgreSQL a lexeme of each word's first three.
    """
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE title_search_fts USING fts5(names, body, "
            "content='title_search', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2', prefix='3 4 5')"
        )
        op.execute(
            "CREATE TRIGGER title_search_ai AFTER INSERT ON title_search BEGIN "
            "INSERT INTO title_search_fts(rowid, names, body) "
            "VALUES (new.id, new.names, new.body); END"
        )
        op.execute(
            "CREATE TRIGGER title_search_ad AFTER DELETE ON title_search BEGIN "
            "INSERT INTO title_search_fts(title_search_fts, rowid, names, body) "
            "VALUES ('delete', old.id, old.names, old.body); END"
        )
        op.execute(
            "CREATE TRIGGER title_search_au AFTER UPDATE ON title_search BEGIN "
            "INSERT INTO title_search_fts(title_search_fts, rowid, names, body) "
            "VALUES ('delete', old.id, old.names, old.body); "
            "INSERT INTO title_search_fts(rowid, names, body) "
            "VALUES (new.id, new.names, new.body); END"
        )
    else:
        # Each word's first three letters also become a lexeme, after the mark "0p": a GIN
        # index then finds a prefix in one entry instead of merging every word that starts
        # with it (catalog.search.PREFIX_MARK and MIN_PREFIX_CHARS must say the same).
        op.execute(
            "ALTER TABLE title_search ADD COLUMN document tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('simple', names), 'A') || "
            "setweight(to_tsvector('simple', body), 'B') || "
            "strip(to_tsvector('simple', regexp_replace(names || ' ' || body, "
            r"'(^|\s)([a-z0-9]{3})\S*', '\1 0p\2', 'g')))) STORED"
        )
        op.execute("CREATE INDEX ix_title_search_document ON title_search USING gin (document)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE title_search_fts")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("home_country_verified_at")
        batch_op.drop_column("home_country")

    with op.batch_alter_table("titles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_titles_parent_id_titles"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_titles_parent_id"))
        batch_op.drop_column("age_rating")
        batch_op.drop_column("french_language_work")
        batch_op.drop_column("european_work")
        batch_op.drop_column("first_free_tv_broadcast")
        batch_op.drop_column("fr_release_date")
        batch_op.drop_column("production_countries")
        batch_op.drop_column("original_language")
        batch_op.drop_column("number")
        batch_op.drop_column("parent_id")
        batch_op.drop_column("kind")

    with op.batch_alter_table("window_holdbacks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_window_holdbacks_window_id"))

    op.drop_table("window_holdbacks")
    op.drop_table("top_titles")
    op.drop_table("title_search")
    with op.batch_alter_table("title_plays", schema=None) as batch_op:
        batch_op.drop_index("ix_title_plays_territory_day")

    op.drop_table("title_plays")
    op.drop_table("title_localizations")
    with op.batch_alter_table("title_identifiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_title_identifiers_title_id"))

    op.drop_table("title_identifiers")
    with op.batch_alter_table("title_genres", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_title_genres_genre_slug"))

    op.drop_table("title_genres")
    with op.batch_alter_table("rights_windows", schema=None) as batch_op:
        batch_op.drop_index("ix_rights_windows_title_territory")
        batch_op.drop_index(batch_op.f("ix_rights_windows_alid"))

    op.drop_table("rights_windows")
    with op.batch_alter_table("credits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credits_title_id"))
        batch_op.drop_index(batch_op.f("ix_credits_person_id"))

    op.drop_table("credits")
    with op.batch_alter_table("availability", schema=None) as batch_op:
        batch_op.drop_index("ix_availability_title")
        batch_op.drop_index("ix_availability_opening")
        batch_op.drop_index("ix_availability_closing")

    op.drop_table("availability")
    with op.batch_alter_table("artworks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_artworks_title_id"))

    op.drop_table("artworks")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_name"))

    op.drop_table("people")
    op.drop_table("genres")
    op.drop_table("chronology_rule_sets")
