"""join the credits start (0013) and the QoE rate index (0014), both written from 0012

Revision ID: 0015_join_credits_qoe
Revises: 0013_credits, 0014_qoe_rate_index
Create Date: 2026-11-27 23:10:00
"""

from collections.abc import Sequence

revision: str = "0015_join_credits_qoe"
down_revision: str | Sequence[str] | None = ("0013_credits", "0014_qoe_rate_index")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the two migrations were written side by side."""


def downgrade() -> None:
    """Nothing to change."""
