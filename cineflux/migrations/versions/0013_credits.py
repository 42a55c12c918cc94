"""catalogue: where a film's or an episode's end credits start (set by the operator)

Revision ID: 0013_credits
Revises: 0012_content_keys
Create Date: 2026-11-27 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_credits"
down_revision: str | Sequence[str] | None = "0012_content_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("titles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credits_start_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("titles", schema=None) as batch_op:
        batch_op.drop_column("credits_start_seconds")
