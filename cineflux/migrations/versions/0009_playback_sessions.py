"""playback: authorised plays (sessions with heartbeats) and the per-account lock row

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 19:40:46.701598

A branch from 0008, beside the QoE tables' 0010; a merge revision joins them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cineflux.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "playback_accounts",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("admissions_checked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_playback_accounts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_playback_accounts")),
    )
    op.create_table(
        "playback_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("profile_id", sa.String(length=36), nullable=False),
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.Column("storage_prefix", sa.String(length=255), nullable=False),
        sa.Column("territory", sa.String(length=2), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=True),
        sa.Column("device", sa.JSON(), nullable=False),
        sa.Column("started_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("position_seconds", sa.Float(), nullable=False),
        sa.Column("play_counted", sa.Boolean(), nullable=False),
        sa.Column("stopped_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_playback_sessions_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_playback_sessions_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_playback_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playback_sessions")),
    )
    with op.batch_alter_table("playback_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_playback_sessions_profile_id"), ["profile_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_playback_sessions_title_id"), ["title_id"], unique=False
        )
        batch_op.create_index(
            "ix_playback_sessions_user_id_last_heartbeat_at",
            ["user_id", "last_heartbeat_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("playback_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_playback_sessions_user_id_last_heartbeat_at")
        batch_op.drop_index(batch_op.f("ix_playback_sessions_title_id"))
        batch_op.drop_index(batch_op.f("ix_playback_sessions_profile_id"))

    op.drop_table("playback_sessions")
    op.drop_table("playback_accounts")
