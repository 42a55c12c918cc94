"""Billing pages of the subscriber app: plans, the account page, résiliation, invoices.

Every form carries the session's CSRF token. Résilier takes three clicks from the account
page (the entry, one confirmation, the done page with the end date), as French law asks
since June 2023.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from cineflux.accounts.service import EmailNotVerified, SignedInUser
from cineflux.billing import rules
from cineflux.billing import service as billing
from cineflux.billing.api import (
    BillingDep,
    invoice_html_response,
    invoice_pdf_response,
    policy_of,
)
from cineflux.billing.provider import InvalidCard
from cineflux.billing.simulated import SimulatedProvider
from cineflux.billing.tasks import deliver_webhooks, in_process_sender
from cineflux.db import transaction
from cineflux.platform import Platform
from cineflux.web.deps import DbDep, PageUserDep, PlatformDep, check_csrf, csrf_for
from cineflux.web.templating import render, templates

router = APIRouter(include_in_schema=False)
templates.env.filters["euros"] = rules.format_euros

CsrfField = Annotated[str, Form(max_length=128)]
CardField = Annotated[str, Form(max_length=32)]


def _context(platform: Platform, user: SignedInUser, **values: Any) -> dict[str, Any]:
    return {"user": user, "csrf": csrf_for(platform, user), **values}


def _plans_page(
    request: Request,
    db: DbDep,
    platform: Platform,
    user: SignedInUser,
    *,
    error: str | None = None,
    chosen: str | None = None,
    status_code: int = 200,
) -> Response:
    subscription = billing.live_subscription(db, user_id=user.id)
    had_one = billing.latest_subscription(db, user_id=user.id) is not None
    trial_days = policy_of(platform).trial_days
    context = _context(
        platform,
        user,
        plans=billing.list_plans(db),
        subscription=subscription,
        trial_days=0 if had_one else trial_days,
        error=error,
        chosen=chosen,
    )
    return render(request, "billing_plans.html", context, status_code=status_code)


@router.get("/plans")
def plans_page(request: Request, db: DbDep, platform: PlatformDep, user: PageUserDep) -> Response:
    """The plans on offer, each with a Choose button (trial, or the first month by card)."""
    return _plans_page(request, db, platform, user)


@router.post("/plans/{code}/choose")
def choose_plan(
    request: Request,
    code: str,
    db: DbDep,
    platform: PlatformDep,
    ctx: BillingDep,
    user: PageUserDep,
    csrf: CsrfField,
    card_number: CardField,
) -> Response:
    """Start the subscription on this plan; to 3-D Secure when the bank asks for it."""
    check_csrf(platform, user, csrf)
    try:
        outcome = billing.subscribe(
            db,
            ctx=ctx,
            user_id=user.id,
            email=user.email,
            plan_code=code,
            card_number=card_number,
        )
    except (billing.PaymentDeclined, InvalidCard, EmailNotVerified) as error:
        status = 403 if isinstance(error, EmailNotVerified) else 402
        return _plans_page(
            request, db, platform, user, error=str(error), chosen=code, status_code=status
        )
    return _next_page(outcome)


@router.get("/billing/authenticate/{intent_id}")
def authenticate_page(
    request: Request, intent_id: str, db: DbDep, platform: PlatformDep, user: PageUserDep
) -> Response:
    """The simulated bank's 3-D Secure page for one of the account's payments."""
    charge = billing.waiting_payment(db, user_id=user.id, intent_id=intent_id)
    return render(request, "billing_authenticate.html", _context(platform, user, charge=charge))


@router.post("/billing/authenticate/{intent_id}")
def authenticate_submit(
    intent_id: str,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    csrf: CsrfField,
    decision: Annotated[str, Form(pattern="^(approve|refuse)$")],
) -> Response:
    """Answer the simulated bank; its verdict comes back as a signed webhook."""
    check_csrf(platform, user, csrf)
    # The request's transaction only read who is signed in: end it, so that the bank's
    # answer and the webhook's handler below each take the write lock in turn.
    db.commit()
    # Its own transaction, committed before delivery: the webhook's handler must see the
    # bank's answer, as it would if the provider were another company's server.
    with transaction(platform.sessions) as session:
        billing.waiting_payment(session, user_id=user.id, intent_id=intent_id)
        SimulatedProvider(session, clock=platform.clock).authenticate(
            intent_id, approve=decision == "approve"
        )
    deliver_webhooks(platform, in_process_sender(platform))
    return RedirectResponse("/account", status_code=303)


def _next_page(outcome: billing.Outcome) -> Response:
    """The account page, or the bank's page first when the payment needs authenticating."""
    if outcome.needs_authentication and outcome.charge is not None:
        return RedirectResponse(f"/billing/authenticate/{outcome.charge.intent_id}", 303)
    return RedirectResponse("/account", status_code=303)


def _account_page(
    request: Request,
    db: DbDep,
    platform: Platform,
    user: SignedInUser,
    *,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    subscription = billing.latest_subscription(db, user_id=user.id)
    waiting = None
    if subscription is not None and subscription.live_user_id is not None:
        waiting = billing.waiting_charge(db, subscription_id=subscription.id)
    context = _context(
        platform,
        user,
        subscription=subscription,
        bill=billing.next_bill(db, subscription) if subscription else None,
        next_plan=billing.get_plan(db, subscription.next_plan_code)
        if subscription and subscription.next_plan_code
        else None,
        plans=billing.list_plans(db),
        invoices=billing.list_invoices(db, user_id=user.id),
        waiting=waiting,
        error=error,
        notice=notice,
    )
    return render(request, "account.html", context, status_code=status_code)


@router.get("/account")
def account_page(request: Request, db: DbDep, platform: PlatformDep, user: PageUserDep) -> Response:
    """The account: plan, next bill, card, invoices, change plan, Résilier."""
    return _account_page(request, db, platform, user)


@router.post("/account/plan")
def account_change_plan(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    ctx: BillingDep,
    user: PageUserDep,
    csrf: CsrfField,
    plan: Annotated[str, Form(max_length=32)],
) -> Response:
    """Change plan from the account page."""
    check_csrf(platform, user, csrf)
    try:
        outcome = billing.change_plan(db, ctx=ctx, user_id=user.id, plan_code=plan)
    except (billing.PaymentDeclined, billing.PlanChangeRefused) as error:
        return _account_page(request, db, platform, user, error=str(error), status_code=409)
    return _next_page(outcome)


@router.post("/account/card")
def account_card(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    ctx: BillingDep,
    user: PageUserDep,
    csrf: CsrfField,
    card_number: CardField,
) -> Response:
    """Replace the card; an unpaid month is retried on it at once."""
    check_csrf(platform, user, csrf)
    try:
        outcome = billing.update_card(db, ctx=ctx, user_id=user.id, card_number=card_number)
    except InvalidCard as error:
        return _account_page(request, db, platform, user, error=str(error), status_code=422)
    return _next_page(outcome)


@router.get("/account/cancel")
def cancel_page(request: Request, db: DbDep, platform: PlatformDep, user: PageUserDep) -> Response:
    """Résilier, second click: one confirmation, saying until when access lasts."""
    subscription = billing.live_subscription(db, user_id=user.id)
    if subscription is None:
        return RedirectResponse("/account", status_code=303)
    ends_now = subscription.state in ("past_due", "incomplete")
    context = _context(platform, user, subscription=subscription, ends_now=ends_now)
    return render(request, "account_cancel.html", context)


@router.post("/account/cancel")
def cancel_submit(db: DbDep, platform: PlatformDep, user: PageUserDep, csrf: CsrfField) -> Response:
    """Résilier, confirmed: recorded, the email queued, then the done page."""
    check_csrf(platform, user, csrf)
    billing.cancel(db, clock=platform.clock, user_id=user.id)
    return RedirectResponse("/account/cancelled", status_code=303)


@router.get("/account/cancelled")
def cancelled_page(
    request: Request, db: DbDep, platform: PlatformDep, user: PageUserDep
) -> Response:
    """Résilier, done: the end date, and that an email confirms it."""
    subscription = billing.latest_subscription(db, user_id=user.id)
    if subscription is None or not (subscription.cancel_at_period_end or subscription.ended_at):
        return RedirectResponse("/account", status_code=303)
    ends_at = subscription.ended_at or subscription.current_period_end
    context = _context(platform, user, subscription=subscription, ends_at=ends_at)
    return render(request, "account_cancelled.html", context)


@router.post("/account/resume")
def resume_submit(db: DbDep, platform: PlatformDep, user: PageUserDep, csrf: CsrfField) -> Response:
    """Withdraw a résiliation before its end."""
    check_csrf(platform, user, csrf)
    billing.resume(db, clock=platform.clock, user_id=user.id)
    return RedirectResponse("/account", status_code=303)


@router.get("/account/invoices/{invoice_id}")
def invoice_page(request: Request, invoice_id: str, db: DbDep, user: PageUserDep) -> Response:
    """One of the account's invoices, printable."""
    found = billing.get_invoice(db, user_id=user.id, invoice_id=invoice_id)
    return invoice_html_response(request, found)


@router.get("/account/invoices/{invoice_id}/pdf")
def invoice_pdf_page(invoice_id: str, db: DbDep, user: PageUserDep) -> Response:
    """One of the account's invoices as PDF."""
    return invoice_pdf_response(billing.get_invoice(db, user_id=user.id, invoice_id=invoice_id))
