"""delivery network: sites, and edges with their last heartbeat and rotation

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 18:50:16.389031
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cineflux.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cdn_sites",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cdn_sites")),
        sa.UniqueConstraint("name", name=op.f("uq_cdn_sites_name")),
    )
    op.create_table(
        "cdn_edges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.String(length=36), nullable=False),
        sa.Column("base_url", sa.String(length=255), nullable=False),
        sa.Column("registered_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("healthy", sa.Boolean(), nullable=False),
        sa.Column("load", sa.Float(), nullable=False),
        sa.Column("egress_bps", sa.BigInteger(), nullable=False),
        sa.Column("capacity_bps", sa.BigInteger(), nullable=False),
        sa.Column("open_connections", sa.Integer(), nullable=False),
        sa.Column("disk_used_bytes", sa.BigInteger(), nullable=False),
        sa.Column("disk_capacity_bytes", sa.BigInteger(), nullable=False),
        sa.Column("in_rotation", sa.Boolean(), nullable=False),
        sa.Column("rotation_since", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rotation_reason", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["cdn_sites.id"],
            name=op.f("fk_cdn_edges_site_id_cdn_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cdn_edges")),
        sa.UniqueConstraint("name", name=op.f("uq_cdn_edges_name")),
    )
    with op.batch_alter_table("cdn_edges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cdn_edges_site_id"), ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cdn_edges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cdn_edges_site_id"))

    op.drop_table("cdn_edges")
    op.drop_table("cdn_sites")
