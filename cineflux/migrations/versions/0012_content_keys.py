"""protection: per-title CENC content keys, wrapped under a master key

Revision ID: 0012_content_keys
Revises: 0011
Create Date: 2026-11-27 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cineflux.db

revision: str = "0012_content_keys"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "content_keys",
        sa.Column("kid", sa.String(length=32), nullable=False),
        sa.Column("title_id", sa.String(length=36), nullable=False),
        sa.Column("track_kind", sa.String(length=8), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("master_key_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_content_keys_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_content_keys")),
        sa.UniqueConstraint("title_id", "track_kind", name=op.f("uq_content_keys_title_id")),
    )
    with op.batch_alter_table("content_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_content_keys_title_id"), ["title_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("content_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_content_keys_title_id"))
    op.drop_table("content_keys")
