"""Billing: plans, subscriptions and their state machine, charges, invoices, webhooks.

Services take a session and keyword-only dependencies, flush and never commit: the caller
owns the transaction. Money is integer cents in euros, VAT included; instants are UTC from
the injected clock; renewals fall on monthly anniversaries in Paris (``rules``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Table, and_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from cineflux.accounts import service as accounts
from cineflux.billing import rules
from cineflux.billing.models import (
    Charge,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Plan,
    Subscription,
    WebhookReceipt,
)
from cineflux.billing.provider import (
    IntentResult,
    PaymentProvider,
    WebhookEvent,
)
from cineflux.billing.rules import State
from cineflux.billing.signatures import WebhookRejected, verify
from cineflux.billing.simulated import SimulatedProvider
from cineflux.clock import Clock
from cineflux.config import Settings
from cineflux.mail import service as mail
from cineflux.prepared import Prepared
from cineflux.rights.chronology import PARIS, paris_date

log = logging.getLogger(__name__)

CURRENCY = "EUR"
# A first payment waiting for 3-D Secure is given up after this (as card networks do).
INCOMPLETE_TIMEOUT = timedelta(hours=23)
# Access outlives a period end by this much while its renewal is due but not yet run.
RENEWAL_GRACE = timedelta(days=1)


class BillingError(Exception):
    """Base of the billing domain's errors."""


class PlanNotFound(BillingError):
    """No plan has this code (or it is no longer offered)."""


class InvalidPlan(BillingError):
    """A plan definition that cannot be accepted."""


class PlanExists(BillingError):
    """A plan with this code exists already."""


class AlreadySubscribed(BillingError):
    """The account has a live subscription already."""


class NoSubscription(BillingError):
    """The account has no subscription this can apply to."""


class InvoiceNotFound(BillingError):
    """No invoice with this id belongs to the account."""


class PaymentNotFound(BillingError):
    """No payment waiting for the account's action has this id."""


class PaymentDeclined(BillingError):
    """The card was declined; nothing was changed."""


class PlanChangeRefused(BillingError):
    """The subscription's state does not allow this plan change now."""


class BillingConflict(BillingError):
    """Somebody changed the subscription at the same time; try again."""


class MalformedWebhook(WebhookRejected):
    """A correctly signed body that is not an event we understand."""


@dataclass(frozen=True)
class BillingPolicy:
    """The operator's billing choices, from settings."""

    trial_days: int = 7
    dunning_days: int = 14
    retry_days: tuple[int, ...] = (1, 3, 7)
    seller: str = "Cineflux"

    @classmethod
    def from_settings(cls, settings: Settings) -> BillingPolicy:
        """The policy the ``CINEFLUX_BILLING_*`` settings describe."""
        return cls(
            trial_days=settings.billing_trial_days,
            dunning_days=settings.billing_dunning_days,
            retry_days=rules.parse_retry_days(settings.billing_retry_days),
            seller=settings.billing_seller,
        )


@dataclass(frozen=True)
class PlanSpec:
    """A plan as an operator defines it."""

    code: str
    name: str
    price_cents: int
    streams: int
    max_resolution: str
    downloads: int = 0
    available: bool = True
    position: int = 0


@dataclass(frozen=True)
class Entitlements:
    """What an account may do at an instant: the other domains' view of billing."""

    active: bool
    plan_code: str | None = None
    plan_name: str | None = None
    streams: int = 0
    max_resolution: str | None = None
    downloads: int = 0
    period_end: datetime | None = None


@dataclass(frozen=True)
class Outcome:
    """What a subscription change did, for the page or API that asked."""

    subscription: Subscription
    charge: Charge | None = None
    needs_authentication: bool = False
    scheduled: bool = False


@dataclass(frozen=True)
class BillingContext:
    """What charging services need besides the session: time, the provider, the policy."""

    clock: Clock
    provider: PaymentProvider
    policy: BillingPolicy

    @classmethod
    def of(cls, session: Session, *, clock: Clock, settings: Settings) -> BillingContext:
        """The context the platform's settings choose, its provider on ``session``."""
        return cls(
            clock=clock,
            provider=provider_for(session, clock=clock),
            policy=BillingPolicy.from_settings(settings),
        )


def provider_for(session: Session, *, clock: Clock) -> PaymentProvider:
    """The payment provider the platform uses (only the simulated one exists so far)."""
    return SimulatedProvider(session, clock=clock)


# --- plans -------------------------------------------------------------------------------


def list_plans(session: Session, *, offered_only: bool = True) -> list[Plan]:
    """Plans by position and price; only those offered to new subscribers unless told."""
    query = select(Plan).order_by(Plan.position, Plan.price_cents, Plan.code)
    if offered_only:
        query = query.where(Plan.available.is_(True))
    return list(session.scalars(query))


def get_plan(session: Session, code: str) -> Plan:
    """The plan with this code; raise ``PlanNotFound``."""
    plan = session.get(Plan, code.strip().lower())
    if plan is None:
        raise PlanNotFound(f"no plan {code!r}")
    return plan


def _check_plan(spec: PlanSpec) -> None:
    if not spec.code or not spec.code.replace("-", "").isalnum() or spec.code != spec.code.lower():
        raise InvalidPlan("a plan code is lower-case letters, digits and hyphens")
    if not spec.name.strip():
        raise InvalidPlan("a plan needs a name")
    if spec.price_cents <= 0:
        raise InvalidPlan("the monthly price must be positive (in cents, VAT included)")
    if spec.streams < 1:
        raise InvalidPlan("a plan allows at least one stream")
    if spec.max_resolution not in rules.RESOLUTIONS:
        raise InvalidPlan(f"the resolution is one of {', '.join(rules.RESOLUTIONS)}")
    if spec.downloads < 0:
        raise InvalidPlan("downloads cannot be negative")


def add_plan(session: Session, spec: PlanSpec) -> Plan:
    """Create a plan; raise ``PlanExists`` or ``InvalidPlan``."""
    _check_plan(spec)
    if session.get(Plan, spec.code) is not None:
        raise PlanExists(f"a plan {spec.code!r} exists already")
    plan = Plan(
        code=spec.code,
        name=spec.name.strip(),
        price_cents=spec.price_cents,
        currency=CURRENCY,
        streams=spec.streams,
        max_resolution=spec.max_resolution,
        downloads=spec.downloads,
        available=spec.available,
        position=spec.position,
    )
    session.add(plan)
    session.flush()
    return plan


def edit_plan(session: Session, code: str, /, **changes: Any) -> Plan:
    """Change a plan's name, price, streams, resolution, downloads, availability or position.

    A new price applies to each subscriber from their next renewal.
    """
    plan = get_plan(session, code)
    current = PlanSpec(
        code=plan.code,
        name=plan.name,
        price_cents=plan.price_cents,
        streams=plan.streams,
        max_resolution=plan.max_resolution,
        downloads=plan.downloads,
        available=plan.available,
        position=plan.position,
    )
    unknown = set(changes) - {field.name for field in fields(PlanSpec)} | ({"code"} & set(changes))
    if unknown:
        raise InvalidPlan(f"cannot change {', '.join(sorted(unknown))}")
    spec = replace(current, **{key: value for key, value in changes.items() if value is not None})
    _check_plan(spec)
    for field in fields(PlanSpec):
        setattr(plan, field.name, getattr(spec, field.name))
    session.flush()
    return plan


# --- reading -----------------------------------------------------------------------------


def live_subscription(session: Session, *, user_id: str) -> Subscription | None:
    """The account's subscription that has not ended, if any."""
    return session.scalar(select(Subscription).where(Subscription.live_user_id == user_id))


def latest_subscription(session: Session, *, user_id: str) -> Subscription | None:
    """The account's live subscription, or else the one that ended last."""
    return live_subscription(session, user_id=user_id) or session.scalar(
        select(Subscription)
        .where(Subscription.user_id == user_id)
        .order_by(Subscription.created_at.desc())
        .limit(1)
    )


class AccessTerms(Protocol):
    """What deciding a subscription's access reads of it."""

    @property
    def state(self) -> str: ...
    @property
    def cancel_at_period_end(self) -> bool: ...
    @property
    def current_period_end(self) -> datetime: ...
    @property
    def past_due_since(self) -> datetime | None: ...


def access_until(subscription: AccessTerms, policy: BillingPolicy) -> datetime | None:
    """Until when the subscription gives access; None when it gives none."""
    state = subscription.state
    if state in ("trialing", "active"):
        if subscription.cancel_at_period_end:
            return subscription.current_period_end
        return subscription.current_period_end + RENEWAL_GRACE
    if state == "past_due" and subscription.past_due_since is not None:
        # Viewers keep watching while the card is retried; dunning's end stops them.
        return rules.dunning_deadline(subscription.past_due_since, policy.dunning_days)
    return None


# The few columns entitlements read, not the whole subscription (converting its eleven
# timestamps was most of the query's CPU); built once, as every play asks.
_ENTITLING_SUBSCRIPTION = Prepared(
    select(
        Subscription.state,
        Subscription.cancel_at_period_end,
        Subscription.current_period_end,
        Subscription.past_due_since,
        Subscription.started_at,
        Plan.code,
        Plan.name,
        Plan.streams,
        Plan.max_resolution,
        Plan.downloads,
    )
    .join(Plan, Plan.code == Subscription.plan_code)
    .where(Subscription.live_user_id == bindparam("user_id"))
)


def entitlements(
    session: Session, *, user_id: str, at: datetime, policy: BillingPolicy | None = None
) -> Entitlements:
    """What the account may do at ``at``: streams, resolution, downloads (for playback)."""
    # Prepared (plain columns on the driver's cursor): SQLAlchemy's execution around the
    # statement cost more CPU than running it. One row at most: live_user_id is unique.
    subscription = _ENTITLING_SUBSCRIPTION.first(session, {"user_id": user_id})
    if subscription is None:
        return Entitlements(active=False)
    until = access_until(subscription, policy or BillingPolicy())
    if until is None or not subscription.started_at <= at < until:
        return Entitlements(active=False)
    return Entitlements(
        active=True,
        plan_code=subscription.code,
        plan_name=subscription.name,
        streams=subscription.streams,
        max_resolution=subscription.max_resolution,
        downloads=subscription.downloads,
        period_end=subscription.current_period_end,
    )


def next_bill(session: Session, subscription: Subscription) -> tuple[datetime, int] | None:
    """When the next renewal charges the card, and how much; None when none will."""
    if subscription.state not in ("trialing", "active") or subscription.cancel_at_period_end:
        return None
    plan = get_plan(session, subscription.next_plan_code or subscription.plan_code)
    return subscription.current_period_end, plan.price_cents


def list_invoices(session: Session, *, user_id: str) -> list[Invoice]:
    """The account's invoices, newest first."""
    return list(
        session.scalars(
            select(Invoice)
            .where(Invoice.user_id == user_id)
            .order_by(Invoice.issued_at.desc(), Invoice.number.desc())
        )
    )


def get_invoice(session: Session, *, user_id: str, invoice_id: str) -> Invoice:
    """One of the account's invoices; another account's is as unknown as a missing one."""
    invoice = session.scalar(
        select(Invoice).where(Invoice.id == invoice_id, Invoice.user_id == user_id)
    )
    if invoice is None:
        raise InvoiceNotFound("no such invoice")
    return invoice


def waiting_payment(session: Session, *, user_id: str, intent_id: str) -> Charge:
    """The account's charge waiting for 3-D Secure under this intent; raise ``PaymentNotFound``."""
    charge = session.scalar(
        select(Charge).where(
            Charge.intent_id == intent_id,
            Charge.user_id == user_id,
            Charge.status == "requires_action",
        )
    )
    if charge is None:
        raise PaymentNotFound("no payment waits for you under this reference")
    return charge


def waiting_charge(session: Session, *, subscription_id: str) -> Charge | None:
    """The subscription's payment still in progress (3-D Secure or processing), if any."""
    return session.scalar(
        select(Charge)
        .where(
            Charge.subscription_id == subscription_id,
            Charge.status.in_(("processing", "requires_action")),
        )
        .order_by(Charge.created_at.desc())
        .limit(1)
    )


def list_subscriptions(
    session: Session, *, state: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[Subscription], int]:
    """Every account's subscriptions for the operator console, newest first, and the total."""
    query = select(Subscription)
    if state is not None:
        query = query.where(Subscription.state == state)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Subscription.created_at.desc(), Subscription.id).limit(limit).offset(offset)
    )
    return list(rows), int(total)


# --- subscribing and changing ------------------------------------------------------------


def subscribe(
    session: Session,
    *,
    ctx: BillingContext,
    user_id: str,
    email: str,
    plan_code: str,
    card_number: str,
) -> Outcome:
    """Start a subscription: a trial (first one only), or the first month paid by card.

    The account's email must be verified (``EmailNotVerified`` otherwise).
    A declined card leaves nothing behind and raises ``PaymentDeclined``; a card that needs
    3-D Secure, or answers later, gives an ``incomplete`` subscription that a webhook settles.
    """
    accounts.require_verified_email(session, user_id=user_id)
    plan = get_plan(session, plan_code)
    if not plan.available:
        raise PlanNotFound(f"the plan {plan.code!r} is no longer offered")
    if live_subscription(session, user_id=user_id) is not None:
        raise AlreadySubscribed("the account has a subscription already")
    method = ctx.provider.tokenize_card(card_number)
    now = ctx.clock.now()
    had_one = session.scalar(
        select(func.count()).select_from(Subscription).where(Subscription.user_id == user_id)
    )
    with session.begin_nested():
        return _start(
            session,
            ctx=ctx,
            plan=plan,
            subscription=Subscription(
                user_id=user_id,
                live_user_id=user_id,
                plan_code=plan.code,
                payment_method=method.token,
                card_label=method.label,
                billing_email=email,
                started_at=now,
                cancel_at_period_end=False,
                retries_done=0,
                created_at=now,
                updated_at=now,
            ),
            trial=ctx.policy.trial_days > 0 and not had_one,
        )


def _start(
    session: Session,
    *,
    ctx: BillingContext,
    plan: Plan,
    subscription: Subscription,
    trial: bool,
) -> Outcome:
    now = subscription.started_at
    session.add(subscription)
    if trial:
        trial_end = now + timedelta(days=ctx.policy.trial_days)
        subscription.state = "trialing"
        subscription.trial_end = trial_end
        subscription.anchor_at = trial_end
        subscription.period_number = -1
        subscription.current_period_start, subscription.current_period_end = now, trial_end
        _flush_or_conflict(session, subscription)
        return Outcome(subscription)
    subscription.state = "incomplete"
    subscription.anchor_at = now
    subscription.period_number = 0
    start, end = rules.period_bounds(now, 0)
    subscription.current_period_start, subscription.current_period_end = start, end
    _flush_or_conflict(session, subscription)
    charge = _new_charge(session, subscription, plan, purpose="period", period=0, now=now)
    return _charge_on_session(
        session,
        ctx=ctx,
        subscription=subscription,
        charge=charge,
    )


def _charge_on_session(
    session: Session,
    *,
    ctx: BillingContext,
    subscription: Subscription,
    charge: Charge,
) -> Outcome:
    """Charge with the subscriber present: a decline raises (and the caller's savepoint goes)."""
    result = _attempt(session, ctx.provider, subscription, charge, on_session=True)
    if result.status == "failed":
        raise PaymentDeclined(_decline_message(result.failure_reason))
    _apply(session, ctx=ctx, subscription=subscription, charge=charge, result=result)
    return Outcome(subscription, charge, needs_authentication=result.status == "requires_action")


def change_plan(
    session: Session,
    *,
    ctx: BillingContext,
    user_id: str,
    plan_code: str,
) -> Outcome:
    """Upgrade at once (the prorated difference is charged now) or downgrade at period end.

    Choosing the current plan again withdraws a scheduled downgrade. During a trial every
    change is immediate and free.
    """
    subscription = live_subscription(session, user_id=user_id)
    if subscription is None:
        raise NoSubscription("the account has no subscription")
    plan = get_plan(session, plan_code)
    current = subscription.plan
    now = ctx.clock.now()
    if subscription.state not in ("trialing", "active"):
        raise PlanChangeRefused(f"a {subscription.state} subscription cannot change plan")
    if subscription.cancel_at_period_end:
        raise PlanChangeRefused("the subscription is ending: resume it before changing plan")
    if plan.code == current.code:
        subscription.next_plan_code = None
        return _saved(session, subscription, now)
    if not plan.available:
        raise PlanNotFound(f"the plan {plan.code!r} is no longer offered")
    if subscription.state == "trialing" or plan.price_cents == current.price_cents:
        subscription.plan_code, subscription.next_plan_code = plan.code, None
        return _saved(session, subscription, now)
    if plan.price_cents < current.price_cents:
        subscription.next_plan_code = plan.code
        outcome = _saved(session, subscription, now)
        return Outcome(outcome.subscription, scheduled=True)
    if waiting_charge(session, subscription_id=subscription.id) is not None:
        raise PlanChangeRefused("a payment is still being processed; try again in a moment")
    amount = rules.upgrade_amount(
        old_price=current.price_cents,
        new_price=plan.price_cents,
        now=now,
        period_start=subscription.current_period_start,
        period_end=subscription.current_period_end,
    )
    if amount == 0:
        subscription.plan_code, subscription.next_plan_code = plan.code, None
        return _saved(session, subscription, now)
    with session.begin_nested():
        charge = _new_charge(
            session, subscription, plan, purpose="upgrade", period=None, now=now, amount=amount
        )
        return _charge_on_session(
            session,
            ctx=ctx,
            subscription=subscription,
            charge=charge,
        )


def cancel(session: Session, *, clock: Clock, user_id: str) -> Subscription:
    """Résilier: access lasts to the end of what was paid; an email states that end.

    A trial ends at its end without a charge; an unpaid (past due) or incomplete
    subscription ends at once, since nothing was paid for the time after.
    """
    subscription = live_subscription(session, user_id=user_id)
    if subscription is None:
        raise NoSubscription("the account has no subscription to cancel")
    now = clock.now()
    if subscription.cancel_at_period_end:
        return subscription  # asked twice (a reloaded page): one email is enough
    subscription.state = rules.next_state(_state(subscription), "resiliated")
    subscription.resiliated_at = now
    if subscription.state in rules.ENDED_STATES:
        _end(subscription, at=now)
        ends_at = now
    else:
        subscription.cancel_at_period_end = True
        subscription.next_plan_code = None
        ends_at = subscription.current_period_end
    _saved(session, subscription, now)
    mail.queue(
        session,
        clock=clock,
        to=subscription.billing_email,
        subject="Confirmation de la résiliation de votre abonnement Cineflux",
        text=cancellation_email(subscription.plan.name, ends_at, now),
    )
    return subscription


def cancellation_email(plan_name: str, ends_at: datetime, asked_at: datetime) -> str:
    """The text of the email that confirms a résiliation and states its end date."""
    end = ends_at.astimezone(PARIS)
    asked = asked_at.astimezone(PARIS)
    return (
        "Bonjour,\n\n"
        f"Nous confirmons la résiliation de votre abonnement Cineflux {plan_name}, "
        f"demandée le {asked:%d/%m/%Y à %H:%M}.\n\n"
        f"Votre abonnement prend fin le {end:%d/%m/%Y à %H:%M} (heure de Paris). "
        "Vous gardez l'accès à Cineflux jusqu'à cette date, et aucun autre paiement "
        "ne vous sera demandé.\n\n"
        "Vous pouvez reprendre votre abonnement depuis la page Mon compte avant cette date.\n\n"
        "L'équipe Cineflux\n"
    )


def resume(session: Session, *, clock: Clock, user_id: str) -> Subscription:
    """Withdraw a résiliation before its end date: renewals go on as before."""
    subscription = live_subscription(session, user_id=user_id)
    now = clock.now()
    if subscription is None or not subscription.cancel_at_period_end:
        raise NoSubscription("no ending subscription to resume")
    if now >= subscription.current_period_end:
        raise PlanChangeRefused("the subscription has already ended")
    subscription.cancel_at_period_end = False
    subscription.resiliated_at = None
    return _saved(session, subscription, now).subscription


def update_card(
    session: Session,
    *,
    ctx: BillingContext,
    user_id: str,
    card_number: str,
) -> Outcome:
    """Replace the card; an unpaid period is retried on the new card at once."""
    subscription = live_subscription(session, user_id=user_id)
    if subscription is None:
        raise NoSubscription("the account has no subscription")
    method = ctx.provider.tokenize_card(card_number)
    now = ctx.clock.now()
    subscription.payment_method, subscription.card_label = method.token, method.label
    if subscription.state != "past_due":
        return _saved(session, subscription, now)
    charge = _period_charge(session, subscription)
    if charge.status in ("processing", "requires_action"):
        return _saved(session, subscription, now)
    # A decline on the new card keeps it: the subscriber sees the refusal and dunning goes on.
    result = _attempt(session, ctx.provider, subscription, charge, on_session=True)
    _apply(session, ctx=ctx, subscription=subscription, charge=charge, result=result)
    return Outcome(subscription, charge, needs_authentication=result.status == "requires_action")


# --- the billing run ---------------------------------------------------------------------


def due_subscriptions(
    session: Session, *, now: datetime, policy: BillingPolicy, limit: int = 500
) -> list[tuple[str, int]]:
    """Ids and versions of subscriptions with something to do now (renew, retry, end)."""
    query = (
        select(Subscription.id, Subscription.version)
        .where(
            or_(
                and_(
                    Subscription.state.in_(("trialing", "active")),
                    Subscription.current_period_end <= now,
                ),
                and_(
                    Subscription.state == "past_due",
                    or_(
                        Subscription.next_retry_at <= now,
                        Subscription.past_due_since <= now - timedelta(days=policy.dunning_days),
                    ),
                ),
                and_(
                    Subscription.state == "incomplete",
                    Subscription.created_at <= now - INCOMPLETE_TIMEOUT,
                ),
            )
        )
        .order_by(Subscription.current_period_end, Subscription.id)
        .limit(limit)
    )
    return [(row.id, row.version) for row in session.execute(query)]


def process_due(
    session: Session,
    *,
    ctx: BillingContext,
    subscription_id: str,
    version: int,
) -> str | None:
    """Do what is due for one subscription, if nobody did since ``version`` was read.

    Call it first thing in a fresh transaction: its conditional UPDATE is the claim, so two
    runs at once (threads, processes, machines) never both renew a subscription; the unique
    (subscription, period) of charges and the provider's idempotency keys back it up.
    Returns what happened ("paid", "pending", "failed", "expired", "canceled") or None.
    """
    now = ctx.clock.now()
    claimed = session.execute(
        update(Subscription)
        .where(Subscription.id == subscription_id, Subscription.version == version)
        .values(version=version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return None
    subscription = session.get_one(Subscription, subscription_id, populate_existing=True)
    state = subscription.state
    if state in ("trialing", "active") and now >= subscription.current_period_end:
        if subscription.cancel_at_period_end:
            subscription.state = rules.next_state(_state(subscription), "period_ended")
            _end(subscription, at=subscription.current_period_end)
            session.flush()
            return "expired"
        return _renew(session, ctx=ctx, subscription=subscription)
    if state == "past_due" and subscription.past_due_since is not None:
        charge = _period_charge(session, subscription)
        deadline = rules.dunning_deadline(subscription.past_due_since, ctx.policy.dunning_days)
        if now >= deadline and charge.status not in ("processing", "requires_action"):
            subscription.state = rules.next_state("past_due", "dunning_exhausted")
            _end(subscription, at=now)
            session.flush()
            return "canceled"
        if subscription.next_retry_at is not None and now >= subscription.next_retry_at:
            subscription.retries_done += 1
            subscription.next_retry_at = None
            result = _attempt(session, ctx.provider, subscription, charge, on_session=False)
            return _apply(
                session,
                ctx=ctx,
                subscription=subscription,
                charge=charge,
                result=result,
            )
        return None
    if state == "incomplete" and now >= subscription.created_at + INCOMPLETE_TIMEOUT:
        subscription.state = rules.next_state("incomplete", "abandoned")
        _end(subscription, at=now)
        session.flush()
        return "expired"
    return None


def _renew(
    session: Session,
    *,
    ctx: BillingContext,
    subscription: Subscription,
) -> str:
    number = subscription.period_number + 1
    start, end = rules.period_bounds(subscription.anchor_at, number)
    if subscription.next_plan_code is not None:
        subscription.plan_code, subscription.next_plan_code = subscription.next_plan_code, None
    plan = get_plan(session, subscription.plan_code)
    subscription.period_number = number
    subscription.current_period_start, subscription.current_period_end = start, end
    _flush_or_conflict(session, subscription)
    charge = _new_charge(
        session, subscription, plan, purpose="period", period=number, now=ctx.clock.now()
    )
    result = _attempt(session, ctx.provider, subscription, charge, on_session=False)
    return _apply(session, ctx=ctx, subscription=subscription, charge=charge, result=result)


# --- webhooks ----------------------------------------------------------------------------


def parse_event(body: bytes) -> WebhookEvent:
    """A provider event from a (verified) body; raise ``MalformedWebhook``."""
    try:
        document = json.loads(body)
        data = document["data"]
        event = WebhookEvent(
            id=str(document["id"]),
            type=str(document["type"]),
            intent_id=str(data["intent_id"]),
            status=data["status"],
            amount_cents=int(data["amount_cents"]),
            currency=str(data["currency"]),
            failure_reason=data.get("failure_reason"),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise MalformedWebhook(f"not a payment event: {error}") from None
    if event.status not in ("succeeded", "failed", "processing", "requires_action"):
        raise MalformedWebhook(f"unknown status {event.status!r}")
    return event


def receive_webhook(
    session: Session,
    *,
    ctx: BillingContext,
    secret: bytes,
    tolerance_seconds: int,
    body: bytes,
    signature: str | None,
) -> str:
    """Verify and apply a provider event: "applied", "ignored", or "duplicate" (seen before).

    Forged or stale signatures raise (``WebhookRejected``). An event id is recorded in the
    same transaction as its effects, so a replay or a second delivery changes nothing.
    """
    verify(secret, body, signature, now=ctx.clock.now(), tolerance_seconds=tolerance_seconds)
    event = parse_event(body)
    fresh = _insert_ignore(
        session,
        WebhookReceipt.__table__,  # type: ignore[arg-type]
        {"event_id": event.id, "type": event.type[:64], "received_at": ctx.clock.now()},
    )
    if not fresh:
        return "duplicate"
    return _apply_event(session, ctx=ctx, event=event)


def _apply_event(session: Session, *, ctx: BillingContext, event: WebhookEvent) -> str:
    charge = session.scalar(select(Charge).where(Charge.intent_id == event.intent_id))
    if charge is None or charge.status not in ("processing", "requires_action"):
        return "ignored"  # an older attempt's news, or already settled synchronously
    if (event.amount_cents, event.currency) != (charge.amount_cents, charge.currency):
        log.warning("webhook amount differs from the charge", extra={"charge": charge.id})
        return "ignored"
    if event.status not in ("succeeded", "failed"):
        return "ignored"
    subscription = session.get_one(Subscription, charge.subscription_id)
    result = IntentResult(
        event.intent_id, event.status, event.amount_cents, event.currency, event.failure_reason
    )
    _apply(session, ctx=ctx, subscription=subscription, charge=charge, result=result)
    return "applied"


# --- internals ---------------------------------------------------------------------------


def _state(subscription: Subscription) -> State:
    state: State = subscription.state  # type: ignore[assignment]
    return state


def _saved(session: Session, subscription: Subscription, now: datetime) -> Outcome:
    subscription.updated_at = now
    _flush_or_conflict(session, subscription)
    return Outcome(subscription)


def _flush_or_conflict(session: Session, subscription: Subscription) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise BillingConflict("the subscription changed meanwhile; try again") from None
    except IntegrityError as error:
        if "live_user_id" in str(error.orig):
            raise AlreadySubscribed("the account has a subscription already") from None
        raise
    # The plan code may have changed under the loaded relationship.
    session.expire(subscription, ["plan"])


def _end(subscription: Subscription, *, at: datetime) -> None:
    subscription.ended_at = at
    subscription.live_user_id = None
    subscription.next_retry_at = None
    subscription.next_plan_code = None


def _new_charge(
    session: Session,
    subscription: Subscription,
    plan: Plan,
    *,
    purpose: str,
    period: int | None,
    now: datetime,
    amount: int | None = None,
) -> Charge:
    if purpose == "period":
        key = f"renewal:{subscription.id}:{period}"
        service = (subscription.current_period_start, subscription.current_period_end)
    else:
        # Counted, so that a declined upgrade can be tried again with a fresh key.
        earlier = session.scalar(
            select(func.count())
            .select_from(Charge)
            .where(Charge.subscription_id == subscription.id, Charge.purpose == "upgrade")
        )
        key = f"upgrade:{subscription.id}:{subscription.period_number}:{plan.code}:{earlier}"
        service = (now, subscription.current_period_end)
    charge = Charge(
        subscription_id=subscription.id,
        user_id=subscription.user_id,
        purpose=purpose,
        period=period,
        plan_code=plan.code,
        previous_plan_code=subscription.plan_code if purpose == "upgrade" else None,
        amount_cents=plan.price_cents if amount is None else amount,
        currency=CURRENCY,
        service_start=service[0],
        service_end=service[1],
        status="pending",
        attempts=0,
        idempotency_key=key,
        created_at=now,
    )
    session.add(charge)
    try:
        session.flush()
    except IntegrityError:
        raise BillingConflict("this period is being charged already") from None
    return charge


def _period_charge(session: Session, subscription: Subscription) -> Charge:
    return session.scalars(
        select(Charge).where(
            Charge.subscription_id == subscription.id,
            Charge.period == subscription.period_number,
        )
    ).one()


def _attempt(
    session: Session,
    provider: PaymentProvider,
    subscription: Subscription,
    charge: Charge,
    *,
    on_session: bool,
) -> IntentResult:
    if not subscription.payment_method:
        raise PaymentDeclined("no card on file")
    charge.attempts += 1
    result = provider.create_intent(
        amount_cents=charge.amount_cents,
        currency=charge.currency,
        payment_method=subscription.payment_method,
        idempotency_key=f"{charge.idempotency_key}:{charge.attempts}",
        reference=charge.id,
        on_session=on_session,
    )
    charge.intent_id = result.id
    session.flush()
    return result


def _apply(
    session: Session,
    *,
    ctx: BillingContext,
    subscription: Subscription,
    charge: Charge,
    result: IntentResult,
) -> str:
    """Record a payment's outcome on its charge and subscription; the outcome's name."""
    now = ctx.clock.now()
    if result.status == "succeeded":
        charge.status, charge.paid_at, charge.failure_reason = "paid", now, None
        _issue_invoice(session, ctx=ctx, subscription=subscription, charge=charge)
        if charge.purpose == "upgrade":
            if subscription.state in ("trialing", "active"):
                subscription.plan_code, subscription.next_plan_code = charge.plan_code, None
        elif subscription.state in rules.LIVE_STATES:
            subscription.state = rules.next_state(_state(subscription), "payment_succeeded")
            subscription.past_due_since = subscription.next_retry_at = None
            subscription.retries_done = 0
        outcome = "paid"
    elif result.status == "failed":
        charge.status, charge.failure_reason = "failed", result.failure_reason
        if charge.purpose == "period" and subscription.state in rules.LIVE_STATES:
            subscription.state = rules.next_state(_state(subscription), "payment_failed")
            if subscription.state in rules.ENDED_STATES:
                _end(subscription, at=now)
            else:
                subscription.past_due_since = subscription.past_due_since or now
                subscription.next_retry_at = rules.next_retry(
                    subscription.past_due_since,
                    retries_done=subscription.retries_done,
                    retry_days=ctx.policy.retry_days,
                    dunning_days=ctx.policy.dunning_days,
                )
        outcome = "failed"
    else:
        charge.status = result.status
        if charge.purpose == "period":
            subscription.state = rules.next_state(_state(subscription), "payment_pending")
        outcome = "pending"
    subscription.updated_at = now
    _flush_or_conflict(session, subscription)
    return outcome


def _issue_invoice(
    session: Session,
    *,
    ctx: BillingContext,
    subscription: Subscription,
    charge: Charge,
) -> Invoice:
    now = ctx.clock.now()
    year = paris_date(now).year
    plan = get_plan(session, charge.plan_code)
    net, vat = rules.split_vat(charge.amount_cents)
    first = charge.service_start.astimezone(PARIS)
    last = charge.service_end.astimezone(PARIS)
    span = f"du {first:%d/%m/%Y} au {last:%d/%m/%Y}"
    if charge.purpose == "upgrade":
        description = f"Passage à l'offre {plan.name}, au prorata {span}"
    else:
        description = f"Abonnement {plan.name} {span}"
    invoice = Invoice(
        number=rules.invoice_number(year, _next_invoice_sequence(session, year)),
        charge_id=charge.id,
        subscription_id=subscription.id,
        user_id=subscription.user_id,
        issued_at=now,
        currency=charge.currency,
        total_cents=charge.amount_cents,
        net_cents=net,
        vat_cents=vat,
        seller=ctx.policy.seller,
        customer_email=subscription.billing_email,
    )
    session.add(invoice)
    session.flush()
    session.add(
        InvoiceLine(
            invoice_id=invoice.id,
            position=1,
            description=description[:200],
            service_start=charge.service_start,
            service_end=charge.service_end,
            vat_rate_basis_points=rules.VAT_RATE_BASIS_POINTS,
            gross_cents=charge.amount_cents,
            net_cents=net,
            vat_cents=vat,
        )
    )
    session.flush()
    return invoice


def _next_invoice_sequence(session: Session, year: int) -> int:
    """The year's next invoice number, taken under the counter row's lock.

    It is taken in the transaction that records the payment: if that rolls back, so does
    the number, and numbers have no gaps.
    """
    _insert_ignore(
        session,
        InvoiceCounter.__table__,  # type: ignore[arg-type]
        {"year": year, "last_number": 0},
    )
    number = session.execute(
        update(InvoiceCounter)
        .where(InvoiceCounter.year == year)
        .values(last_number=InvoiceCounter.last_number + 1)
        .returning(InvoiceCounter.last_number)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return int(number)


def _insert_ignore(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """INSERT unless the key exists (ON CONFLICT DO NOTHING); whether a row was written.

    Two transactions inserting the same key at once: one writes, the other waits for it and
    writes nothing, on PostgreSQL and SQLite alike, without aborting either transaction.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql_insert(table).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite_insert(table).values(**values).on_conflict_do_nothing()
    else:
        raise NotImplementedError(f"billing does not support {dialect}")
    # RETURNING, not rowcount: psycopg reports no row count for ON CONFLICT inserts.
    key = next(iter(table.primary_key.columns))
    return session.execute(statement.returning(key)).first() is not None


def _decline_message(reason: str | None) -> str:
    return {
        "card_declined": "the card was declined",
        "authentication_required": "the bank asks for authentication",
        "authentication_failed": "the bank could not authenticate the payment",
    }.get(reason or "", "the payment did not go through")
