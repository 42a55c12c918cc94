"""Billing tables: plans, subscriptions, charges, invoices, and the simulated provider's own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cineflux.db import Base, UTCDateTime, new_id


class Plan(Base):
    """What a subscriber can buy: a monthly price (VAT included) and what it allows."""

    __tablename__ = "billing_plans"
    __table_args__ = (
        CheckConstraint("price_cents > 0", name="price_positive"),
        CheckConstraint("max_resolution IN ('SD', 'HD', 'UHD')", name="resolution_known"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    streams: Mapped[int] = mapped_column(Integer)
    max_resolution: Mapped[str] = mapped_column(String(3))
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    # Withdrawn plans stay for their subscribers but are no longer offered.
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Subscription(Base):
    """One subscriber's subscription, from its start to its end; a new one after an end."""

    __tablename__ = "billing_subscriptions"
    __table_args__ = (
        Index("ix_billing_subscriptions_due", "state", "current_period_end"),
        Index("ix_billing_subscriptions_retry", "state", "next_retry_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    # Set to user_id while the subscription is live and cleared when it ends: the unique
    # constraint then allows one live subscription per account, whatever the races.
    live_user_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    plan_code: Mapped[str] = mapped_column(ForeignKey("billing_plans.code"))
    next_plan_code: Mapped[str | None] = mapped_column(ForeignKey("billing_plans.code"))
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    trial_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Paid periods are anniversaries of this instant (in Paris): the trial's end, or the start.
    anchor_at: Mapped[datetime] = mapped_column(UTCDateTime())
    period_number: Mapped[int] = mapped_column(Integer)  # -1 during the trial
    current_period_start: Mapped[datetime] = mapped_column(UTCDateTime())
    current_period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    resiliated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    past_due_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retries_done: Mapped[int] = mapped_column(Integer, default=0)
    payment_method: Mapped[str | None] = mapped_column(String(64))
    card_label: Mapped[str | None] = mapped_column(String(40))
    billing_email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Optimistic lock: every UPDATE checks and bumps it, so two writers never both win.
    version: Mapped[int] = mapped_column(Integer, default=1)

    plan: Mapped[Plan] = relationship(foreign_keys=[plan_code], lazy="joined")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read once by the mapper


class Charge(Base):
    """Money asked for: one paid period, or the prorated difference of an upgrade."""

    __tablename__ = "billing_charges"
    __table_args__ = (
        # A period is charged once, whoever runs the renewal and however often.
        UniqueConstraint("subscription_id", "period", name="uq_billing_charges_period"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("billing_subscriptions.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # "period" or "upgrade"
    period: Mapped[int | None] = mapped_column(Integer)  # set for "period" charges only
    plan_code: Mapped[str] = mapped_column(ForeignKey("billing_plans.code"))
    previous_plan_code: Mapped[str | None] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    service_start: Mapped[datetime] = mapped_column(UTCDateTime())
    service_end: Mapped[datetime] = mapped_column(UTCDateTime())
    # pending, processing, requires_action, paid, failed
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    intent_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InvoiceCounter(Base):
    """The last invoice number of a calendar year, taken in the paying transaction: no gaps."""

    __tablename__ = "billing_invoice_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(Base):
    """A paid charge's invoice; immutable once issued."""

    __tablename__ = "billing_invoices"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    charge_id: Mapped[str] = mapped_column(ForeignKey("billing_charges.id"), unique=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("billing_subscriptions.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    currency: Mapped[str] = mapped_column(String(3))
    total_cents: Mapped[int] = mapped_column(Integer)
    net_cents: Mapped[int] = mapped_column(Integer)
    vat_cents: Mapped[int] = mapped_column(Integer)
    seller: Mapped[str] = mapped_column(Text)
    customer_email: Mapped[str] = mapped_column(String(320))

    lines: Mapped[list[InvoiceLine]] = relationship(
        order_by="InvoiceLine.position", lazy="selectin"
    )


class InvoiceLine(Base):
    """One line of an invoice, with its VAT."""

    __tablename__ = "billing_invoice_lines"

    invoice_id: Mapped[str] = mapped_column(ForeignKey("billing_invoices.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    description: Mapped[str] = mapped_column(String(200))
    service_start: Mapped[datetime] = mapped_column(UTCDateTime())
    service_end: Mapped[datetime] = mapped_column(UTCDateTime())
    vat_rate_basis_points: Mapped[int] = mapped_column(Integer)
    gross_cents: Mapped[int] = mapped_column(Integer)
    net_cents: Mapped[int] = mapped_column(Integer)
    vat_cents: Mapped[int] = mapped_column(Integer)


class WebhookReceipt(Base):
    """A provider event already acted upon: the same event delivered again changes nothing."""

    __tablename__ = "billing_webhook_receipts"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SimulatedIntent(Base):
    """The simulated provider's record of a payment intent (what a real provider keeps)."""

    __tablename__ = "billing_sim_intents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    payment_method: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(64))
    on_session: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(24))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SimulatedEvent(Base):
    """An event the simulated provider has to deliver to the webhook endpoint (its outbox)."""

    __tablename__ = "billing_sim_events"
    __table_args__ = (Index("ix_billing_sim_events_pending", "delivered_at", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
