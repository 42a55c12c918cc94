"""The built-in simulated payment provider: test cards, stored intents, signed webhooks.

It behaves like a real provider seen from billing: intents are kept (in its own tables),
the same idempotency key never charges twice, and outcomes that a real network learns later
("fail later", 3-D Secure authentication) arrive as webhook events in its outbox, delivered
signed to ``POST /api/billing/webhooks`` by ``cineflux billing deliver-webhooks`` (or the
thread of ``serve``). It shares the caller's database session, so on SQLite it never waits on
the caller's own write lock.
"""

from __future__ import annotations

import secrets
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cineflux.billing.models import SimulatedEvent, SimulatedIntent
from cineflux.billing.provider import IntentResult, IntentStatus, InvalidCard, PaymentMethod
from cineflux.clock import Clock

Behaviour = Literal["succeed", "decline", "authenticate", "fail_later"]

# Stripe's well-known test numbers, so anybody who has tested a payment form knows them.
TEST_CARDS: dict[str, Behaviour] = {
    "4242424242424242": "succeed",
    "4000000000000002": "decline",
    "4000002760003184": "authenticate",
    "4000000000000341": "fail_later",
}
TOKEN_PREFIX = "pm_sim_"  # noqa: S105 - a prefix of card tokens, not a password


def luhn_valid(number: str) -> bool:
    """Whether a card number's check digit is right."""
    digits = [int(ch) for ch in reversed(number)]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return len(digits) >= 12 and total % 10 == 0


def card_behaviour(token: str) -> Behaviour:
    """What a tokenized test card does when charged."""
    behaviour = token.removeprefix(TOKEN_PREFIX).rsplit("_", 1)[0]
    if not token.startswith(TOKEN_PREFIX) or behaviour not in TEST_CARDS.values():
        raise InvalidCard("not a card of the simulated provider")
    return behaviour  # type: ignore[return-value]


class SimulatedProvider:
    """A ``PaymentProvider`` that keeps its intents and events in the caller's session."""

    def __init__(self, session: Session, *, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def tokenize_card(self, number: str) -> PaymentMethod:
        """A token for one of the test cards; any other number is refused."""
        digits = "".join(ch for ch in number if ch.isdigit())
        if not luhn_valid(digits) or any(ch not in "0123456789 -" for ch in number):
            raise InvalidCard("the card number is not valid")
        behaviour = TEST_CARDS.get(digits)
        if behaviour is None:
            raise InvalidCard("the simulated provider takes test cards only, e.g. 4242424242424242")
        return PaymentMethod(
            token=f"{TOKEN_PREFIX}{behaviour}_{digits[-4:]}", label=f"Visa •••• {digits[-4:]}"
        )

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
        """Charge a test card; a known idempotency key returns the intent it made before."""
        existing = self.session.scalar(
            select(SimulatedIntent).where(SimulatedIntent.idempotency_key == idempotency_key)
        )
        if existing is not None:
            return _result(existing)
        behaviour = card_behaviour(payment_method)
        status: IntentStatus
        reason: str | None = None
        if behaviour == "succeed":
            status = "succeeded"
        elif behaviour == "decline":
            status, reason = "failed", "card_declined"
        elif behaviour == "authenticate" and on_session:
            status = "requires_action"
        elif behaviour == "authenticate":
            # Nobody is there to authenticate a renewal: banks decline it (SCA).
            status, reason = "failed", "authentication_required"
        else:
            status = "processing"
        now = self.clock.now()
        intent = SimulatedIntent(
            id=f"pi_{secrets.token_hex(12)}",
            idempotency_key=idempotency_key,
            amount_cents=amount_cents,
            currency=currency,
            payment_method=payment_method,
            reference=reference,
            on_session=on_session,
            status=status,
            failure_reason=reason,
            created_at=now,
            updated_at=now,
        )
        self.session.add(intent)
        self.session.flush()
        if behaviour == "fail_later":
            # The network answers later: the failure exists only as an event to deliver.
            self._settle(intent, "failed", "card_declined_later")
            return IntentResult(intent.id, "processing", amount_cents, currency)
        return _result(intent)

    def authenticate(self, intent_id: str, *, approve: bool) -> IntentResult:
        """The subscriber's answer on the simulated 3-D Secure page; the outcome is a webhook."""
        intent = self.session.get(SimulatedIntent, intent_id)
        if intent is None:
            raise InvalidCard("no such payment")
        if intent.status == "requires_action":
            self._settle(
                intent,
                "succeeded" if approve else "failed",
                None if approve else "authentication_failed",
            )
        return _result(intent)

    def _settle(self, intent: SimulatedIntent, status: IntentStatus, reason: str | None) -> None:
        intent.status = status
        intent.failure_reason = reason
        intent.updated_at = self.clock.now()
        kind = "payment_intent." + ("succeeded" if status == "succeeded" else "payment_failed")
        event_id = f"evt_{secrets.token_hex(12)}"
        self.session.add(
            SimulatedEvent(
                id=event_id,
                type=kind,
                payload={
                    "id": event_id,
                    "type": kind,
                    "created": int(self.clock.now().timestamp()),
                    "data": {
                        "intent_id": intent.id,
                        "status": status,
                        "amount_cents": intent.amount_cents,
                        "currency": intent.currency,
                        "failure_reason": reason,
                    },
                },
                created_at=self.clock.now(),
                attempts=0,
            )
        )
        self.session.flush()


def _result(intent: SimulatedIntent) -> IntentResult:
    status: IntentStatus = intent.status  # type: ignore[assignment]
    return IntentResult(
        intent.id, status, intent.amount_cents, intent.currency, intent.failure_reason
    )
