"""API shapes of billing. Amounts are integer cents with their currency; instants are UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class PlanRead(BaseModel):
    """A plan on offer."""

    code: str
    name: str
    price_cents: int = Field(description="monthly price, VAT (20 %) included")
    currency: str
    streams: int = Field(description="streams watched at once")
    max_resolution: Literal["SD", "HD", "UHD"]
    downloads: int = Field(description="devices that may keep downloads")


class SubscribeRequest(BaseModel):
    """Start a subscription on a plan, paid by card."""

    plan: str = Field(max_length=32)
    card_number: str = Field(
        max_length=32, description="a test card of the simulated provider, e.g. 4242424242424242"
    )


class PlanChangeRequest(BaseModel):
    """Change to another plan: upgrades now (prorated), downgrades at period end."""

    plan: str = Field(max_length=32)


class CardRequest(BaseModel):
    """Replace the card (an unpaid period is retried on it at once)."""

    card_number: str = Field(max_length=32)


class ConfirmRequest(BaseModel):
    """An explicit confirmation, so that no cross-site form can post it."""

    confirm: Literal[True]


class NextAction(BaseModel):
    """What the subscriber must do before the payment completes (3-D Secure)."""

    type: Literal["authenticate"] = "authenticate"
    url: str


class SubscriptionRead(BaseModel):
    """The account's subscription."""

    id: str
    state: Literal["incomplete", "trialing", "active", "past_due", "canceled", "expired"]
    plan: PlanRead
    next_plan: PlanRead | None = Field(description="a downgrade that applies at period end")
    started_at: datetime
    trial_end: datetime | None
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    ends_at: datetime | None = Field(description="when access ends, once résiliée or ended")
    next_bill_at: datetime | None
    next_bill_cents: int | None
    card: str | None
    past_due_since: datetime | None
    next_retry_at: datetime | None
    next_action: NextAction | None = None
    scheduled: bool = Field(default=False, description="the plan change waits for period end")


class InvoiceLineRead(BaseModel):
    """One line of an invoice."""

    description: str
    service_start: datetime
    service_end: datetime
    vat_rate_percent: float
    gross_cents: int
    net_cents: int
    vat_cents: int


class InvoiceRead(BaseModel):
    """An invoice, with links to its HTML and PDF documents."""

    id: str
    number: str
    issued_at: datetime
    currency: str
    total_cents: int
    net_cents: int
    vat_cents: int
    lines: list[InvoiceLineRead]
    html_url: str
    pdf_url: str


class EntitlementsRead(BaseModel):
    """What the account may do now."""

    active: bool
    plan_code: str | None
    plan_name: str | None
    streams: int
    max_resolution: Literal["SD", "HD", "UHD"] | None
    downloads: int
    period_end: datetime | None


class WebhookAck(BaseModel):
    """The receiver's answer to a verified webhook."""

    status: Literal["applied", "ignored", "duplicate"]


class SubscriptionSummary(BaseModel):
    """One subscription in the operator console."""

    id: str
    user_id: str
    billing_email: str
    state: str
    plan_code: str
    current_period_end: datetime
    cancel_at_period_end: bool
    past_due_since: datetime | None
    created_at: datetime


class SubscriptionPage(BaseModel):
    """A page of subscriptions."""

    items: list[SubscriptionSummary]
    total: int
