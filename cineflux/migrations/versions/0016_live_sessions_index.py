"""the admission count's index covers it: user, last heartbeat and stopped time

Revision ID: 0016_live_sessions_index
Revises: 0015_join_credits_qoe
Create Date: 2026-11-29 00:30:00

The count of an account's live plays read each session's row for ``stopped_at``; with
it in the index the count reads the index alone. It replaces the (user_id,
last_heartbeat_at) index, which served nothing the wider one does not.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016_live_sessions_index"
down_revision: str | Sequence[str] | None = "0015_join_credits_qoe"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "ix_playback_sessions_user_id_last_heartbeat_at"
NEW = "ix_playback_sessions_user_id_last_heartbeat_at_stopped_at"


def upgrade() -> None:
    with op.batch_alter_table("playback_sessions", schema=None) as batch_op:
        batch_op.drop_index(OLD)
        batch_op.create_index(NEW, ["user_id", "last_heartbeat_at", "stopped_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("playback_sessions", schema=None) as batch_op:
        batch_op.drop_index(NEW)
        batch_op.create_index(OLD, ["user_id", "last_heartbeat_at"], unique=False)
