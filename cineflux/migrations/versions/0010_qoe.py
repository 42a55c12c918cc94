"""quality of experience: player events and their hourly rollup per session

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-27 19:29:01.344174

A branch from 0008, beside the playback sessions' 0009; a merge revision joins them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cineflux.db

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qoe_session_hours",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("hour", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("edge", sa.String(length=255), nullable=False),
        sa.Column("title_id", sa.String(length=64), nullable=False),
        sa.Column("device_class", sa.String(length=16), nullable=False),
        sa.Column("startup_ms", sa.BigInteger(), nullable=True),
        sa.Column("rebuffers", sa.Integer(), nullable=False),
        sa.Column("stall_ms", sa.BigInteger(), nullable=False),
        sa.Column("played_ms", sa.BigInteger(), nullable=False),
        sa.Column("switches", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "hour", "edge", name=op.f("pk_qoe_session_hours")),
    )
    with op.batch_alter_table("qoe_session_hours", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qoe_session_hours_hour"), ["hour"], unique=False)

    op.create_table(
        "qoe_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("title_id", sa.String(length=64), nullable=False),
        sa.Column("edge", sa.String(length=255), nullable=False),
        sa.Column("device_class", sa.String(length=16), nullable=False),
        sa.Column("client_family", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("from_bps", sa.BigInteger(), nullable=True),
        sa.Column("to_bps", sa.BigInteger(), nullable=True),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("cmcd", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_qoe_events_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qoe_events")),
    )
    with op.batch_alter_table("qoe_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_qoe_events_occurred_at"), ["occurred_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_qoe_events_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_qoe_events_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("qoe_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qoe_events_user_id"))
        batch_op.drop_index(batch_op.f("ix_qoe_events_session_id"))
        batch_op.drop_index(batch_op.f("ix_qoe_events_occurred_at"))

    op.drop_table("qoe_events")
    with op.batch_alter_table("qoe_session_hours", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qoe_session_hours_hour"))

    op.drop_table("qoe_session_hours")
