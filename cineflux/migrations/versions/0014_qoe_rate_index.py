"""QoE events by account and reception time, for the per-account rate limit

Revision ID: 0014_qoe_rate_index
Revises: 0012_content_keys
Create Date: 2026-11-27 22:40:00

The composite index replaces the one on ``user_id`` alone (it serves those lookups too).
A branch beside 0013, written at the same time; ``upgrade_schema`` upgrades every head.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_qoe_rate_index"
down_revision: str | Sequence[str] | None = "0012_content_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("qoe_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qoe_events_user_id"))
        batch_op.create_index(
            "ix_qoe_events_user_id_received_at", ["user_id", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("qoe_events", schema=None) as batch_op:
        batch_op.drop_index("ix_qoe_events_user_id_received_at")
        batch_op.create_index(batch_op.f("ix_qoe_events_user_id"), ["user_id"], unique=False)
