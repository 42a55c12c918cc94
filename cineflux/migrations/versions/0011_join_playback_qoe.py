"""join the playback sessions and QoE branches

Revision ID: 0011
Revises: 0009, 0010
Create Date: 2026-11-27 20:50:00
"""

from collections.abc import Sequence

revision: str = "0011"
down_revision: str | Sequence[str] | None = ("0009", "0010")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the two domains' migrations were written side by side."""


def downgrade() -> None:
    """Nothing to change."""
