"""profiles

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 17:10:23.781120
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cineflux.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "adult_codes",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("set_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_adult_codes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_adult_codes")),
    )
    op.create_table(
        "profiles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("avatar", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("kids", sa.Boolean(), nullable=False),
        sa.Column("max_rating", sa.String(length=4), nullable=False),
        sa.Column("pin_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_profiles_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profiles")),
    )
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profiles_user_id"), ["user_id"], unique=False)

    op.create_table(
        "viewing_history",
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.Column("position_seconds", sa.Float(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_viewing_history_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_viewing_history_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", "title_id", name=op.f("pk_viewing_history")),
    )
    with op.batch_alter_table("viewing_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_viewing_history_title_id"), ["title_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_viewing_history_updated_at"), ["updated_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("viewing_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_viewing_history_updated_at"))
        batch_op.drop_index(batch_op.f("ix_viewing_history_title_id"))

    op.drop_table("viewing_history")
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profiles_user_id"))

    op.drop_table("profiles")
    op.drop_table("adult_codes")
