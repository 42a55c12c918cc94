"""Billing on the real database: the state machine over months of injected time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cineflux.accounts import service as accounts
from cineflux.billing import service as billing
from cineflux.billing.models import Charge, Invoice, SimulatedEvent, SimulatedIntent
from cineflux.billing.provider import InvalidCard
from cineflux.billing.signatures import ForgedSignature, StaleWebhook, sign
from cineflux.billing.simulated import SimulatedProvider
from cineflux.clock import FrozenClock
from cineflux.mail.models import OutboxMessage
from cineflux.rights.chronology import PARIS

OK = "4242424242424242"
DECLINE = "4000000000000002"
AUTHENTICATE = "4000002760003184"
FAIL_LATER = "4000000000000341"
SECRET = b"webhook-secret-for-tests"
POLICY = billing.BillingPolicy(trial_days=0, dunning_days=14, retry_days=(1, 3, 7), seller="S")
TRIAL = billing.BillingPolicy(trial_days=7, dunning_days=14, retry_days=(1, 3, 7), seller="S")


def paris(*parts: int) -> datetime:
    """An instant given as Paris wall-clock time."""
    return datetime(*parts, tzinfo=PARIS).astimezone(UTC)  # type: ignore[misc]


def new_user(db: Session, clock: FrozenClock, email: str = "ana@example.org") -> str:
    """A subscriber's account id."""
    return accounts.create_user(db, clock=clock, email=email, password="a long password").id


def context(
    db: Session, clock: FrozenClock, policy: billing.BillingPolicy = POLICY
) -> billing.BillingContext:
    """The billing context of a test: its clock, the simulated provider, a policy."""
    return billing.BillingContext(
        clock=clock, provider=SimulatedProvider(db, clock=clock), policy=policy
    )


def subscribe(
    db: Session,
    clock: FrozenClock,
    user_id: str,
    *,
    plan: str = "standard",
    card: str = OK,
    policy: billing.BillingPolicy = POLICY,
) -> billing.Outcome:
    """Subscribe through the service with the simulated provider."""
    return billing.subscribe(
        db,
        ctx=context(db, clock, policy),
        user_id=user_id,
        email=f"{user_id}@example.org",
        plan_code=plan,
        card_number=card,
    )


def run(
    db: Session, clock: FrozenClock, policy: billing.BillingPolicy = POLICY
) -> list[str | None]:
    """One billing run on this session: what happened to each due subscription."""
    due = billing.due_subscriptions(db, now=clock.now(), policy=policy)
    return [
        billing.process_due(
            db,
            ctx=context(db, clock, policy),
            subscription_id=sid,
            version=version,
        )
        for sid, version in due
    ]


def signed_events(db: Session, clock: FrozenClock) -> list[tuple[bytes, str]]:
    """The provider's undelivered events as the webhook endpoint would receive them."""
    events = db.scalars(
        select(SimulatedEvent)
        .where(SimulatedEvent.delivered_at.is_(None))
        .order_by(SimulatedEvent.created_at)
    )
    out = []
    for event in events:
        body = json.dumps(event.payload).encode()
        out.append((body, sign(SECRET, body, int(clock.now().timestamp()))))
        event.delivered_at = clock.now()
    return out


def receive(db: Session, clock: FrozenClock, body: bytes, signature: str | None) -> str:
    """Hand one webhook to the receiving service."""
    return billing.receive_webhook(
        db,
        ctx=context(db, clock),
        secret=SECRET,
        tolerance_seconds=300,
        body=body,
        signature=signature,
    )


def deliver(db: Session, clock: FrozenClock) -> list[str]:
    """Deliver every pending provider event."""
    return [receive(db, clock, body, signature) for body, signature in signed_events(db, clock)]


def change_plan(
    db: Session,
    clock: FrozenClock,
    user_id: str,
    plan: str,
    policy: billing.BillingPolicy = POLICY,
) -> billing.Outcome:
    """Change plan through the service."""
    return billing.change_plan(db, ctx=context(db, clock, policy), user_id=user_id, plan_code=plan)


def change_card(db: Session, clock: FrozenClock, user_id: str, card: str) -> billing.Outcome:
    """Replace the card through the service."""
    return billing.update_card(db, ctx=context(db, clock), user_id=user_id, card_number=card)


def invoice_numbers(db: Session, user_id: str) -> list[str]:
    """The account's invoice numbers, oldest first."""
    return sorted(i.number for i in billing.list_invoices(db, user_id=user_id))


def count(db: Session, model: type[object]) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


# --- plans -------------------------------------------------------------------------------


def test_three_example_plans_are_seeded(db: Session) -> None:
    plans = {p.code: p for p in billing.list_plans(db)}
    assert [(p.name, p.price_cents, p.streams, p.max_resolution) for p in plans.values()] == [
        ("Essentiel", 799, 1, "SD"),
        ("Standard", 1399, 2, "HD"),
        ("Premium", 1999, 4, "UHD"),
    ]
    assert {p.currency for p in plans.values()} == {"EUR"}


def test_operators_add_and_edit_plans(db: Session) -> None:
    spec = billing.PlanSpec("famille", "Famille", 2499, 6, "UHD", downloads=10, position=4)
    billing.add_plan(db, spec)
    with pytest.raises(billing.PlanExists):
        billing.add_plan(db, spec)
    edited = billing.edit_plan(db, "famille", price_cents=2299, available=False)
    assert (edited.price_cents, edited.available, edited.streams) == (2299, False, 6)
    assert "famille" not in [p.code for p in billing.list_plans(db)]
    assert "famille" in [p.code for p in billing.list_plans(db, offered_only=False)]
    with pytest.raises(billing.InvalidPlan):
        billing.edit_plan(db, "famille", code="other")
    with pytest.raises(billing.InvalidPlan):
        billing.add_plan(db, billing.PlanSpec("8k", "8K", 100, 1, "8K"))
    with pytest.raises(billing.InvalidPlan):
        billing.add_plan(db, billing.PlanSpec("free", "Free", 0, 1, "SD"))


# --- subscribing -------------------------------------------------------------------------


def test_a_paid_subscription_starts_active_with_an_invoice(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    outcome = subscribe(db, clock, user, plan="premium")
    sub = outcome.subscription
    assert sub.state == "active"
    assert sub.current_period_start == clock.now()
    assert sub.current_period_end == clock.now().replace(month=2)
    [invoice] = billing.list_invoices(db, user_id=user)
    assert invoice.number == "CFX-2026-000001"
    assert (invoice.total_cents, invoice.net_cents, invoice.vat_cents) == (1999, 1666, 333)
    [line] = invoice.lines
    assert line.description == "Abonnement Premium du 15/01/2026 au 15/02/2026"
    assert line.vat_rate_basis_points == 2000
    granted = billing.entitlements(db, user_id=user, at=clock.now(), policy=POLICY)
    assert (granted.active, granted.streams, granted.max_resolution) == (True, 4, "UHD")


def test_a_first_subscription_gets_a_trial_without_charge_then_pays(
    db: Session, clock: FrozenClock
) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user, policy=TRIAL).subscription
    assert sub.state == "trialing"
    assert sub.trial_end == clock.now() + timedelta(days=7)
    assert count(db, Charge) == 0
    assert billing.entitlements(db, user_id=user, at=clock.now(), policy=TRIAL).active
    clock.advance(timedelta(days=6, hours=23))
    assert run(db, clock, TRIAL) == []
    clock.advance(timedelta(hours=1))
    assert run(db, clock, TRIAL) == ["paid"]
    assert sub.state == "active"
    assert sub.current_period_start == sub.trial_end
    assert sub.current_period_end == paris(2026, 2, 22, 13, 0)
    assert invoice_numbers(db, user) == ["CFX-2026-000001"]


def test_a_trial_ending_on_a_declined_card_turns_past_due(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user, card=DECLINE, policy=TRIAL).subscription
    assert sub.state == "trialing"  # the card is only charged when the trial ends
    clock.set(sub.current_period_end)
    assert run(db, clock, TRIAL) == ["failed"]
    assert (sub.state, sub.period_number, sub.past_due_since) == ("past_due", 0, clock.now())


def test_a_trial_ending_on_a_slow_card_is_active_until_the_card_answers(
    db: Session, clock: FrozenClock
) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user, card=FAIL_LATER, policy=TRIAL).subscription
    clock.set(sub.current_period_end)
    assert run(db, clock, TRIAL) == ["pending"]
    assert sub.state == "active"
    assert deliver(db, clock) == ["applied"]
    assert sub.state == "past_due"


def test_cancelling_a_payment_waiting_for_authentication_ends_it(
    db: Session, clock: FrozenClock
) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user, card=AUTHENTICATE).subscription
    billing.cancel(db, clock=clock, user_id=user)
    assert (sub.state, sub.live_user_id) == ("expired", None)
    assert subscribe(db, clock, user).subscription.state == "active"


def test_only_the_first_subscription_of_an_account_has_a_trial(
    db: Session, clock: FrozenClock
) -> None:
    user = new_user(db, clock)
    subscribe(db, clock, user, policy=TRIAL)
    billing.cancel(db, clock=clock, user_id=user)
    clock.advance(timedelta(days=8))
    assert run(db, clock, TRIAL) == ["expired"]
    again = subscribe(db, clock, user, policy=TRIAL).subscription
    assert again.state == "active"
    assert again.trial_end is None


def test_a_declined_card_leaves_nothing_and_consumes_no_invoice_number(
    db: Session, clock: FrozenClock
) -> None:
    user = new_user(db, clock)
    with pytest.raises(billing.PaymentDeclined):
        subscribe(db, clock, user, card=DECLINE)
    assert billing.latest_subscription(db, user_id=user) is None
    assert count(db, Charge) == 0
    subscribe(db, clock, user)
    assert invoice_numbers(db, user) == ["CFX-2026-000001"]


def test_an_unknown_card_is_refused_before_anything(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    with pytest.raises(InvalidCard):
        subscribe(db, clock, user, card="4111111111111111")
    assert billing.latest_subscription(db, user_id=user) is None


def test_an_unverified_email_cannot_subscribe(db: Session, clock: FrozenClock) -> None:
    user = accounts.create_user(
        db, clock=clock, email="new@example.org", password="a long password", email_verified=False
    )
    with pytest.raises(accounts.EmailNotVerified):
        subscribe(db, clock, user.id)
    assert billing.latest_subscription(db, user_id=user.id) is None


def test_one_live_subscription_per_account(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    subscribe(db, clock, user)
    with pytest.raises(billing.AlreadySubscribed):
        subscribe(db, clock, user, plan="premium")


def test_the_database_refuses_a_second_live_subscription(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user).subscription
    twin = billing.Subscription(
        **{
            column.key: getattr(sub, column.key)
            for column in billing.Subscription.__table__.columns
            if column.key not in ("id", "version")
        }
    )
    with db.begin_nested(), pytest.raises(IntegrityError):
        db.add(twin)
        db.flush()


# --- renewals ----------------------------------------------------------------------------


def test_renewals_fall_on_the_anniversary_even_after_a_short_month(
    db: Session, clock: FrozenClock
) -> None:
    clock.set(paris(2026, 1, 31, 9, 30))
    user = new_user(db, clock)
    sub = subscribe(db, clock, user).subscription
    ends = [sub.current_period_end]
    for _ in range(3):
        clock.set(sub.current_period_end)
        assert run(db, clock) == ["paid"]
        ends.append(sub.current_period_end)
    assert ends == [
        paris(2026, 2, 28, 9, 30),
        paris(2026, 3, 31, 9, 30),
        paris(2026, 4, 30, 9, 30),
        paris(2026, 5, 31, 9, 30),
    ]
    assert invoice_numbers(db, user) == [f"CFX-2026-00000{n}" for n in range(1, 5)]
    assert run(db, clock) == []  # nothing due twice


def test_running_twice_charges_once(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user).subscription
    clock.set(sub.current_period_end + timedelta(minutes=5))
    due = billing.due_subscriptions(db, now=clock.now(), policy=POLICY)
    [(sid, version)] = due
    ctx = context(db, clock)
    assert billing.process_due(db, ctx=ctx, subscription_id=sid, version=version) == "paid"
    # A second runner that read the same version before the first one finished:
    assert billing.process_due(db, ctx=ctx, subscription_id=sid, version=version) is None
    assert run(db, clock) == []
    assert count(db, Charge) == 2
    assert count(db, SimulatedIntent) == 2


def test_the_database_refuses_a_second_charge_for_a_period(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user).subscription
    [charge] = db.scalars(select(Charge))
    duplicate = Charge(
        subscription_id=sub.id,
        user_id=user,
        purpose="period",
        period=charge.period,
        plan_code="standard",
        amount_cents=1399,
        service_start=charge.service_start,
        service_end=charge.service_end,
        status="pending",
        created_at=clock.now(),
    )
    with db.begin_nested(), pytest.raises(IntegrityError):
        db.add(duplicate)
        db.flush()


def test_the_provider_charges_once_per_idempotency_key(db: Session, clock: FrozenClock) -> None:
    provider = SimulatedProvider(db, clock=clock)
    token = provider.tokenize_card(OK).token
    first, again = (
        provider.create_intent(
            amount_cents=799,
            currency="EUR",
            payment_method=token,
            idempotency_key="renewal:s:3:1",
            reference="c",
            on_session=False,
        )
        for _ in range(2)
    )
    assert again == first
    assert count(db, SimulatedIntent) == 1


def test_invoice_numbers_restart_each_year_in_paris(db: Session, clock: FrozenClock) -> None:
    clock.set(paris(2026, 12, 31, 23, 30))
    user = new_user(db, clock)
    sub = subscribe(db, clock, user).subscription
    clock.set(sub.current_period_end)
    run(db, clock)
    assert invoice_numbers(db, user) == ["CFX-2026-000001", "CFX-2027-000001"]


# --- plan changes ------------------------------------------------------------------------


def test_an_upgrade_applies_at_once_and_charges_the_prorated_difference(
    db: Session, clock: FrozenClock
) -> None:
    clock.set(paris(2026, 4, 1, 12))
    user = new_user(db, clock)
    sub = subscribe(db, clock, user, plan="essentiel").subscription  # to 1 May: 30 days
    clock.advance(timedelta(days=20))
    outcome = change_plan(db, clock, user, "premium")
    assert outcome.charge is not None and outcome.charge.amount_cents == 400  # 1200 x 10/30
    assert sub.plan_code == "premium"
    assert billing.entitlements(db, user_id=user, at=clock.now(), policy=POLICY).streams == 4
    upgrade = billing.list_invoices(db, user_id=user)[0]
    assert upgrade.total_cents == 400
    assert upgrade.lines[0].description == (
        "Passage à l'offre Premium, au prorata du 21/04/2026 au 01/05/2026"
    )
    clock.set(sub.current_period_end)
    assert run(db, clock) == ["paid"]
    assert billing.list_invoices(db, user_id=user)[0].total_cents == 1999


def test_a_declined_upgrade_changes_nothing(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user, plan="essentiel").subscription
    change_card(db, clock, user, DECLINE)
    clock.advance(timedelta(days=3))
    with pytest.raises(billing.PaymentDeclined):
        change_plan(db, clock, user, "premium")
    assert sub.plan_code == "essentiel"
    assert len(billing.list_invoices(db, user_id=user)) == 1


def test_a_downgrade_waits_for_the_period_end(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user, plan="premium").subscription
    outcome = change_plan(db, clock, user, "essentiel")
    assert outcome.scheduled and outcome.charge is None
    assert (sub.plan_code, sub.next_plan_code) == ("premium", "essentiel")
    assert billing.next_bill(db, sub) == (sub.current_period_end, 799)
    clock.set(sub.current_period_end - timedelta(seconds=1))
    assert billing.entitlements(db, user_id=user, at=clock.now(), policy=POLICY).streams == 4
    clock.set(sub.current_period_end)
    assert run(db, clock) == ["paid"]
    assert (sub.plan_code, sub.next_plan_code) == ("essentiel", None)
    assert billing.list_invoices(db, user_id=user)[0].total_cents == 799
    assert billing.entitlements(db, user_id=user, at=clock.now(), policy=POLICY).streams == 1


def test_choosing_the_current_plan_again_withdraws_a_downgrade(
    db: Session, clock: FrozenClock
) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user, plan="premium").subscription
    for code in ("standard", "premium"):
        change_plan(db, clock, user, code)
    assert sub.next_plan_code is None
    assert count(db, Charge) == 1


def test_plan_changes_during_a_trial_are_free_and_immediate(
    db: Session, clock: FrozenClock
) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user, plan="premium", policy=TRIAL).subscription
    change_plan(db, clock, user, "essentiel", TRIAL)
    assert (sub.plan_code, sub.next_plan_code) == ("essentiel", None)
    assert count(db, Charge) == 0


# --- dunning -----------------------------------------------------------------------------


def _past_due(db: Session, clock: FrozenClock, user: str) -> billing.Subscription:
    sub = subscribe(db, clock, user).subscription
    change_card(db, clock, user, DECLINE)
    clock.set(sub.current_period_end)
    assert run(db, clock) == ["failed"]
    return sub


def test_a_failed_renewal_is_retried_on_schedule_then_cancelled(
    db: Session, clock: FrozenClock
) -> None:
    user = new_user(db, clock)
    sub = _past_due(db, clock, user)
    failed_at = clock.now()
    assert sub.state == "past_due"
    assert sub.past_due_since == failed_at
    attempts_at = []
    while sub.state == "past_due":
        clock.advance(timedelta(hours=6))
        outcomes = run(db, clock)
        if outcomes == ["failed"]:
            attempts_at.append(clock.now() - failed_at)
        # Viewers keep watching while the card is retried.
        assert billing.entitlements(db, user_id=user, at=clock.now(), policy=POLICY).active == (
            sub.state == "past_due"
        )
    assert attempts_at == [timedelta(days=1), timedelta(days=3), timedelta(days=7)]
    assert sub.state == "canceled"
    assert sub.ended_at == failed_at + timedelta(days=14)
    assert sub.live_user_id is None
    assert invoice_numbers(db, user) == ["CFX-2026-000001"]  # no invoice for what failed
    assert not billing.entitlements(db, user_id=user, at=clock.now(), policy=POLICY).active


def test_a_new_card_pays_the_unpaid_month_at_once(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    sub = _past_due(db, clock, user)
    period_end = sub.current_period_end
    clock.advance(timedelta(days=2))
    outcome = change_card(db, clock, user, OK)
    assert outcome.charge is not None and outcome.charge.status == "paid"
    assert (sub.state, sub.past_due_since, sub.next_retry_at) == ("active", None, None)
    # The anniversary does not move: the paid month is the one that was due.
    assert sub.current_period_end == period_end
    assert invoice_numbers(db, user) == ["CFX-2026-000001", "CFX-2026-000002"]


def test_cancelling_while_past_due_ends_at_once(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    sub = _past_due(db, clock, user)
    billing.cancel(db, clock=clock, user_id=user)
    assert (sub.state, sub.ended_at) == ("canceled", clock.now())
    assert not billing.entitlements(db, user_id=user, at=clock.now(), policy=POLICY).active


# --- résiliation -------------------------------------------------------------------------


def test_cancelling_keeps_access_to_the_period_end_and_emails_that_date(
    db: Session, clock: FrozenClock
) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user).subscription
    clock.advance(timedelta(days=10))
    billing.cancel(db, clock=clock, user_id=user)
    billing.cancel(db, clock=clock, user_id=user)  # a reloaded confirmation page
    assert (sub.state, sub.cancel_at_period_end) == ("active", True)
    assert billing.next_bill(db, sub) is None
    [mail] = db.scalars(select(OutboxMessage))
    assert mail.to_address == sub.billing_email
    assert "résiliation" in mail.subject
    assert "prend fin le 15/02/2026 à 13:00 (heure de Paris)" in mail.text_body
    end = sub.current_period_end
    assert billing.entitlements(db, user_id=user, at=end - timedelta(seconds=1)).active
    assert not billing.entitlements(db, user_id=user, at=end).active
    clock.set(end + timedelta(hours=3))
    assert run(db, clock) == ["expired"]
    assert (sub.state, sub.ended_at) == ("expired", end)
    assert count(db, Charge) == 1


def test_a_resumed_subscription_renews_as_before(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user).subscription
    billing.cancel(db, clock=clock, user_id=user)
    billing.resume(db, clock=clock, user_id=user)
    clock.set(sub.current_period_end)
    assert run(db, clock) == ["paid"]


def test_a_cancelled_trial_ends_without_charge(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user, policy=TRIAL).subscription
    billing.cancel(db, clock=clock, user_id=user)
    clock.set(sub.current_period_end)
    assert run(db, clock, TRIAL) == ["expired"]
    assert count(db, Charge) == 0


# --- asynchronous payments and webhooks --------------------------------------------------


def test_a_payment_that_needs_authentication_completes_by_webhook(
    db: Session, clock: FrozenClock
) -> None:
    user = new_user(db, clock)
    outcome = subscribe(db, clock, user, card=AUTHENTICATE)
    sub = outcome.subscription
    assert outcome.needs_authentication and sub.state == "incomplete"
    assert not billing.entitlements(db, user_id=user, at=clock.now()).active
    assert outcome.charge is not None and outcome.charge.intent_id is not None
    SimulatedProvider(db, clock=clock).authenticate(outcome.charge.intent_id, approve=True)
    assert sub.state == "incomplete"  # nothing changes before the webhook arrives
    [(body, signature)] = signed_events(db, clock)
    assert receive(db, clock, body, signature) == "applied"
    assert sub.state == "active"
    assert invoice_numbers(db, user) == ["CFX-2026-000001"]
    # The same event delivered again, or replayed within the tolerance, changes nothing.
    assert receive(db, clock, body, signature) == "duplicate"
    assert invoice_numbers(db, user) == ["CFX-2026-000001"]


def test_a_refused_authentication_expires_the_subscription(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    outcome = subscribe(db, clock, user, card=AUTHENTICATE)
    assert outcome.charge is not None and outcome.charge.intent_id is not None
    SimulatedProvider(db, clock=clock).authenticate(outcome.charge.intent_id, approve=False)
    assert deliver(db, clock) == ["applied"]
    assert outcome.subscription.state == "expired"
    assert billing.live_subscription(db, user_id=user) is None


def test_an_abandoned_authentication_expires_after_a_day(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user, card=AUTHENTICATE).subscription
    clock.advance(timedelta(hours=22))
    assert run(db, clock) == []
    clock.advance(timedelta(hours=1))
    assert run(db, clock) == ["expired"]
    assert sub.state == "expired"


def test_a_card_that_fails_later_fails_the_first_payment_by_webhook(
    db: Session, clock: FrozenClock
) -> None:
    user = new_user(db, clock)
    outcome = subscribe(db, clock, user, card=FAIL_LATER)
    assert outcome.subscription.state == "incomplete"
    assert not outcome.needs_authentication
    clock.advance(timedelta(minutes=2))
    assert deliver(db, clock) == ["applied"]
    assert outcome.subscription.state == "expired"
    assert invoice_numbers(db, user) == []


def test_a_renewal_that_fails_later_turns_past_due_when_the_webhook_comes(
    db: Session, clock: FrozenClock
) -> None:
    user = new_user(db, clock)
    sub = subscribe(db, clock, user).subscription
    change_card(db, clock, user, FAIL_LATER)
    clock.set(sub.current_period_end)
    assert run(db, clock) == ["pending"]
    assert sub.state == "active"
    clock.advance(timedelta(hours=1))
    assert deliver(db, clock) == ["applied"]
    assert sub.state == "past_due"
    assert sub.next_retry_at == clock.now() + timedelta(days=1)


def test_forged_and_stale_webhooks_are_refused_and_change_nothing(
    db: Session, clock: FrozenClock
) -> None:
    user = new_user(db, clock)
    outcome = subscribe(db, clock, user, card=AUTHENTICATE)
    assert outcome.charge is not None and outcome.charge.intent_id is not None
    SimulatedProvider(db, clock=clock).authenticate(outcome.charge.intent_id, approve=True)
    [(body, signature)] = signed_events(db, clock)
    forged_body = body.replace(b"succeeded", b"failed")
    with pytest.raises(ForgedSignature):
        receive(db, clock, forged_body, signature)
    with pytest.raises(ForgedSignature):
        receive(db, clock, body, sign(b"not the secret", body, int(clock.now().timestamp())))
    with pytest.raises(ForgedSignature):
        receive(db, clock, body, None)
    clock.advance(timedelta(minutes=6))
    with pytest.raises(StaleWebhook):
        receive(db, clock, body, signature)  # replayed after the tolerance
    assert outcome.subscription.state == "incomplete"
    fresh = sign(SECRET, body, int(clock.now().timestamp()))
    assert receive(db, clock, body, fresh) == "applied"
    assert outcome.subscription.state == "active"


def test_a_webhook_about_an_unknown_payment_is_ignored(db: Session, clock: FrozenClock) -> None:
    body = json.dumps(
        {
            "id": "evt_x",
            "type": "payment_intent.succeeded",
            "data": {
                "intent_id": "pi_unknown",
                "status": "succeeded",
                "amount_cents": 1,
                "currency": "EUR",
            },
        }
    ).encode()
    assert receive(db, clock, body, sign(SECRET, body, int(clock.now().timestamp()))) == "ignored"


# --- isolation and reading ---------------------------------------------------------------


def test_an_account_never_sees_anothers_invoice(db: Session, clock: FrozenClock) -> None:
    ana = new_user(db, clock)
    bob = new_user(db, clock, "bob@example.org")
    subscribe(db, clock, ana)
    [invoice] = db.scalars(select(Invoice))
    assert billing.get_invoice(db, user_id=ana, invoice_id=invoice.id).id == invoice.id
    with pytest.raises(billing.InvoiceNotFound):
        billing.get_invoice(db, user_id=bob, invoice_id=invoice.id)
    assert billing.list_invoices(db, user_id=bob) == []


def test_no_subscription_means_no_entitlements(db: Session, clock: FrozenClock) -> None:
    user = new_user(db, clock)
    granted = billing.entitlements(db, user_id=user, at=clock.now())
    assert granted == billing.Entitlements(active=False)
