"""join the profiles, accounts and billing branches

Revision ID: 0007
Revises: 0004, 0005, 0006
Create Date: 2026-11-27 17:25:00
"""

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | Sequence[str] | None = ("0004", "0005", "0006")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to change: the three domains' migrations were written side by side."""


def downgrade() -> None:
    """Nothing to change."""
