"""accounts: email verification, mailed tokens, sign-in limits, device sign-in, mail outbox

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-27 17:16:14.113057
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cineflux.db

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_failures_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index("ix_login_failures_key_at", ["key_hash", "created_at"], unique=False)

    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=True),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mail_outbox_due", ["sent_at", "failed_at", "next_attempt_at"], unique=False
        )

    op.create_table(
        "account_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_account_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_account_tokens")),
    )
    with op.batch_alter_table("account_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "device_authorizations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("device_code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("last_polled_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("decided_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_device_authorizations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_authorizations")),
        sa.UniqueConstraint(
            "device_code_hash", name=op.f("uq_device_authorizations_device_code_hash")
        ),
        sa.UniqueConstraint("user_code_hash", name=op.f("uq_device_authorizations_user_code_hash")),
    )
    with op.batch_alter_table("device_authorizations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_device_authorizations_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "device_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_device_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_sessions")),
    )
    with op.batch_alter_table("device_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["device_sessions.id"],
            name=op.f("fk_refresh_tokens_session_id_device_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_refresh_tokens")),
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_refresh_tokens_session_id"), ["session_id"], unique=False
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("email_verified_at", cineflux.db.UTCDateTime(timezone=True), nullable=True)
        )
    # Accounts that exist already were made by operators (CLI, demo): their emails count as
    # verified from their creation, as new operator-made accounts do.
    op.execute("UPDATE users SET email_verified_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_verified_at")
    for table in (
        "refresh_tokens",
        "device_sessions",
        "device_authorizations",
        "account_tokens",
        "mail_outbox",
        "login_failures",
    ):
        op.drop_table(table)
