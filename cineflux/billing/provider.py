"""The ``PaymentProvider`` port: what billing needs from whoever moves the money."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

IntentStatus = Literal["succeeded", "processing", "requires_action", "failed"]


class PaymentError(Exception):
    """Base of the payment errors a provider raises."""


class InvalidCard(PaymentError):
    """The card number cannot be used at all."""


@dataclass(frozen=True)
class PaymentMethod:
    """A card the provider keeps for us: an opaque token and what the subscriber may see."""

    token: str
    label: str


@dataclass(frozen=True)
class IntentResult:
    """Where a payment intent stands. ``processing`` and ``requires_action`` end by webhook."""

    id: str
    status: IntentStatus
    amount_cents: int
    currency: str
    failure_reason: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """A verified provider event about one intent."""

    id: str
    type: str
    intent_id: str
    status: IntentStatus
    amount_cents: int
    currency: str
    failure_reason: str | None


class PaymentProvider(Protocol):
    """Takes card payments. Implementations: ``SimulatedProvider``; real ones later."""

    def tokenize_card(self, number: str) -> PaymentMethod:
        """Exchange a card number for a reusable token; raise ``InvalidCard``."""
        ...

    def create_intent(
        self,
        *,
        amount_cents: int,
        currency: str,
        payment_method: str,
        idempotency_key: str,
        reference: str,
        on_session: bool,
    ) -> IntentResult:
        """Charge a card once per ``idempotency_key``: the same key returns the same intent."""
        ...
