"""Billing under concurrency, on the real database with committing sessions and threads."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import func, select

from cineflux.accounts import service as accounts
from cineflux.billing import service as billing
from cineflux.billing.models import Charge, Invoice, SimulatedEvent, SimulatedIntent
from cineflux.billing.signatures import sign
from cineflux.billing.tasks import deliver_webhooks, in_process_sender, run_billing
from cineflux.db import transaction
from cineflux.platform import Platform

T = TypeVar("T")


def together(count: int, work: Callable[[], T]) -> list[T]:
    """Run ``work`` in ``count`` threads released at the same instant; their results."""
    barrier = threading.Barrier(count)
    results: list[T] = []
    errors: list[BaseException] = []

    def body() -> None:
        barrier.wait()
        try:
            results.append(work())
        except BaseException as error:  # surfaced in the test thread below
            errors.append(error)

    threads = [threading.Thread(target=body) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def subscribed(platform: Platform, count: int, card: str = "4242424242424242") -> list[str]:
    """``count`` subscribers with a paid first month; their subscription ids."""
    platform.settings.billing_trial_days = 0
    ids = []
    for n in range(count):
        with transaction(platform.sessions) as session:
            user = accounts.create_user(
                session, clock=platform.clock, email=f"s{n}@example.org", password="p" * 12
            )
            outcome = billing.subscribe(
                session,
                ctx=billing.BillingContext.of(
                    session, clock=platform.clock, settings=platform.settings
                ),
                user_id=user.id,
                email=user.email,
                plan_code="standard",
                card_number=card,
            )
            ids.append(outcome.subscription.id)
    return ids


def count(platform: Platform, model: type[object]) -> int:
    with transaction(platform.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_billing_runs_at_once_charge_each_renewal_once(platform: Platform) -> None:
    subscriptions = subscribed(platform, 12)
    with transaction(platform.sessions) as session:
        end = session.get_one(billing.Subscription, subscriptions[0]).current_period_end
    platform.clock.set(end)  # type: ignore[attr-defined]
    reports = together(4, lambda: run_billing(platform))
    assert sum(report.outcomes["paid"] for report in reports) == 12
    assert sum(report.conflicts for report in reports) == 0  # the claims kept them apart
    assert count(platform, Charge) == 24
    assert count(platform, SimulatedIntent) == 24
    with transaction(platform.sessions) as session:
        numbers = sorted(session.scalars(select(Invoice.number)))
    assert numbers == [f"CFX-2026-{n:06d}" for n in range(1, 25)]  # no gap, no repeat
    again = run_billing(platform)
    assert sum(again.outcomes.values()) == 0


def test_a_webhook_delivered_twice_at_once_is_applied_once(platform: Platform) -> None:
    [subscription_id] = subscribed(platform, 1, card="4000002760003184")
    with transaction(platform.sessions) as session:
        charge = session.scalars(select(Charge)).one()
        assert charge.intent_id is not None
        billing.provider_for(session, clock=platform.clock).authenticate(  # type: ignore[attr-defined]
            charge.intent_id, approve=True
        )
    with transaction(platform.sessions) as session:
        payload = session.scalars(select(SimulatedEvent.payload)).one()
    body = json.dumps(payload).encode()
    signature = sign(
        platform.settings.webhook_secret(), body, int(platform.clock.now().timestamp())
    )
    send = in_process_sender(platform)
    assert sorted(together(2, lambda: send(body, signature))) == [200, 200]
    assert count(platform, Invoice) == 1
    with transaction(platform.sessions) as session:
        assert session.get_one(billing.Subscription, subscription_id).state == "active"
    # The provider's own delivery of the same event is acknowledged and changes nothing.
    assert deliver_webhooks(platform, send) == 1
    assert count(platform, Invoice) == 1
