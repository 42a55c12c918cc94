"""billing: plans (three seeded as an example), subscriptions, charges, invoices, webhooks

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-27 17:16:53.913853
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cineflux.db

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An example offer, in euro cents VAT included; operators change it with `cineflux billing plans`.
PLANS = [
    {
        "code": "essentiel",
        "name": "Essentiel",
        "price_cents": 799,
        "streams": 1,
        "max_resolution": "SD",
        "downloads": 0,
        "position": 1,
    },
    {
        "code": "standard",
        "name": "Standard",
        "price_cents": 1399,
        "streams": 2,
        "max_resolution": "HD",
        "downloads": 2,
        "position": 2,
    },
    {
        "code": "premium",
        "name": "Premium",
        "price_cents": 1999,
        "streams": 4,
        "max_resolution": "UHD",
        "downloads": 6,
        "position": 3,
    },
]


def upgrade() -> None:
    op.create_table(
        "billing_invoice_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_billing_invoice_counters")),
    )

    op.create_table(
        "billing_plans",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("price_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("streams", sa.Integer(), nullable=False),
        sa.Column("max_resolution", sa.String(length=3), nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "max_resolution IN ('SD', 'HD', 'UHD')", name=op.f("ck_billing_plans_resolution_known")
        ),
        sa.CheckConstraint("price_cents > 0", name=op.f("ck_billing_plans_price_positive")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_billing_plans")),
    )

    op.create_table(
        "billing_sim_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_sim_events")),
    )

    with op.batch_alter_table("billing_sim_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_billing_sim_events_pending", ["delivered_at", "created_at"], unique=False
        )

    op.create_table(
        "billing_sim_intents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=160), nullable=False),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_method", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("on_session", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("failure_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_sim_intents")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_billing_sim_intents_idempotency_key")),
    )

    op.create_table(
        "billing_webhook_receipts",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("received_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_billing_webhook_receipts")),
    )

    op.create_table(
        "billing_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("live_user_id", sa.String(length=36), nullable=True),
        sa.Column("plan_code", sa.String(length=32), nullable=False),
        sa.Column("next_plan_code", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("trial_end", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("anchor_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_number", sa.Integer(), nullable=False),
        sa.Column("current_period_start", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("current_period_end", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("resiliated_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("past_due_since", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_retry_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retries_done", sa.Integer(), nullable=False),
        sa.Column("payment_method", sa.String(length=64), nullable=True),
        sa.Column("card_label", sa.String(length=40), nullable=True),
        sa.Column("billing_email", sa.String(length=320), nullable=False),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["next_plan_code"],
            ["billing_plans.code"],
            name=op.f("fk_billing_subscriptions_next_plan_code_billing_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_code"],
            ["billing_plans.code"],
            name=op.f("fk_billing_subscriptions_plan_code_billing_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_billing_subscriptions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_subscriptions")),
        sa.UniqueConstraint("live_user_id", name=op.f("uq_billing_subscriptions_live_user_id")),
    )

    with op.batch_alter_table("billing_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_billing_subscriptions_due", ["state", "current_period_end"], unique=False
        )
        batch_op.create_index(
            "ix_billing_subscriptions_retry", ["state", "next_retry_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_billing_subscriptions_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "billing_charges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("period", sa.Integer(), nullable=True),
        sa.Column("plan_code", sa.String(length=32), nullable=False),
        sa.Column("previous_plan_code", sa.String(length=32), nullable=True),
        sa.Column("amount_cents", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("service_start", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("service_end", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("intent_id", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=160), nullable=True),
        sa.Column("failure_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paid_at", cineflux.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_cents > 0", name=op.f("ck_billing_charges_amount_positive")),
        sa.ForeignKeyConstraint(
            ["plan_code"],
            ["billing_plans.code"],
            name=op.f("fk_billing_charges_plan_code_billing_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["billing_subscriptions.id"],
            name=op.f("fk_billing_charges_subscription_id_billing_subscriptions"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_billing_charges_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_charges")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_billing_charges_idempotency_key")),
        sa.UniqueConstraint("intent_id", name=op.f("uq_billing_charges_intent_id")),
        sa.UniqueConstraint("subscription_id", "period", name="uq_billing_charges_period"),
    )

    with op.batch_alter_table("billing_charges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_billing_charges_subscription_id"), ["subscription_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_billing_charges_user_id"), ["user_id"], unique=False)

    op.create_table(
        "billing_invoices",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=False),
        sa.Column("charge_id", sa.String(length=36), nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("issued_at", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_cents", sa.Integer(), nullable=False),
        sa.Column("net_cents", sa.Integer(), nullable=False),
        sa.Column("vat_cents", sa.Integer(), nullable=False),
        sa.Column("seller", sa.Text(), nullable=False),
        sa.Column("customer_email", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_id"],
            ["billing_charges.id"],
            name=op.f("fk_billing_invoices_charge_id_billing_charges"),
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["billing_subscriptions.id"],
            name=op.f("fk_billing_invoices_subscription_id_billing_subscriptions"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_billing_invoices_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_invoices")),
        sa.UniqueConstraint("charge_id", name=op.f("uq_billing_invoices_charge_id")),
        sa.UniqueConstraint("number", name=op.f("uq_billing_invoices_number")),
    )

    with op.batch_alter_table("billing_invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_billing_invoices_user_id"), ["user_id"], unique=False)

    op.create_table(
        "billing_invoice_lines",
        sa.Column("invoice_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("service_start", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("service_end", cineflux.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("vat_rate_basis_points", sa.Integer(), nullable=False),
        sa.Column("gross_cents", sa.Integer(), nullable=False),
        sa.Column("net_cents", sa.Integer(), nullable=False),
        sa.Column("vat_cents", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["billing_invoices.id"],
            name=op.f("fk_billing_invoice_lines_invoice_id_billing_invoices"),
        ),
        sa.PrimaryKeyConstraint("invoice_id", "position", name=op.f("pk_billing_invoice_lines")),
    )

    plans = sa.table(
        "billing_plans",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("price_cents", sa.Integer),
        sa.column("currency", sa.String),
        sa.column("streams", sa.Integer),
        sa.column("max_resolution", sa.String),
        sa.column("downloads", sa.Integer),
        sa.column("available", sa.Boolean),
        sa.column("position", sa.Integer),
    )
    op.bulk_insert(plans, [{**plan, "currency": "EUR", "available": True} for plan in PLANS])


def downgrade() -> None:
    for table in (
        "billing_invoice_lines",
        "billing_invoices",
        "billing_charges",
        "billing_subscriptions",
        "billing_webhook_receipts",
        "billing_sim_intents",
        "billing_sim_events",
        "billing_plans",
        "billing_invoice_counters",
    ):
        op.drop_table(table)
