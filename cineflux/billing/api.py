"""Billing HTTP API: plans, the account's subscription and invoices, webhooks, the console."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from cineflux.billing import service as billing
from cineflux.billing.documents import invoice_document, invoice_pdf
from cineflux.billing.models import Invoice, Plan, Subscription
from cineflux.billing.schemas import (
    CardRequest,
    ConfirmRequest,
    EntitlementsRead,
    InvoiceLineRead,
    InvoiceRead,
    NextAction,
    PlanChangeRequest,
    PlanRead,
    SubscribeRequest,
    SubscriptionPage,
    SubscriptionRead,
    SubscriptionSummary,
    WebhookAck,
)
from cineflux.billing.signatures import SIGNATURE_HEADER
from cineflux.platform import Platform
from cineflux.web.deps import ApiUserDep, DbDep, OperatorDep, PlatformDep
from cineflux.web.problems import Problem
from cineflux.web.templating import render

router = APIRouter(prefix="/api/billing", tags=["billing"])


def policy_of(platform: Platform) -> billing.BillingPolicy:
    """The billing policy of the platform's settings."""
    return billing.BillingPolicy.from_settings(platform.settings)


def billing_context(db: DbDep, platform: PlatformDep) -> billing.BillingContext:
    """This request's clock, payment provider (on its transaction) and billing policy."""
    return billing.BillingContext.of(db, clock=platform.clock, settings=platform.settings)


BillingDep = Annotated[billing.BillingContext, Depends(billing_context)]


def plan_read(plan: Plan) -> PlanRead:
    """A plan as the API shows it."""
    return PlanRead(
        code=plan.code,
        name=plan.name,
        price_cents=plan.price_cents,
        currency=plan.currency,
        streams=plan.streams,
        max_resolution=plan.max_resolution,
        downloads=plan.downloads,
    )


def subscription_read(db: Session, outcome: billing.Outcome) -> SubscriptionRead:
    """A subscription as the API shows it, with what to do next when a payment waits."""
    subscription = outcome.subscription
    bill = billing.next_bill(db, subscription)
    ends_at = subscription.ended_at or (
        subscription.current_period_end if subscription.cancel_at_period_end else None
    )
    action = None
    if outcome.needs_authentication and outcome.charge is not None:
        action = NextAction(url=f"/billing/authenticate/{outcome.charge.intent_id}")
    return SubscriptionRead(
        id=subscription.id,
        state=subscription.state,
        plan=plan_read(subscription.plan),
        next_plan=plan_read(billing.get_plan(db, subscription.next_plan_code))
        if subscription.next_plan_code
        else None,
        started_at=subscription.started_at,
        trial_end=subscription.trial_end,
        current_period_start=subscription.current_period_start,
        current_period_end=subscription.current_period_end,
        cancel_at_period_end=subscription.cancel_at_period_end,
        ends_at=ends_at,
        next_bill_at=bill[0] if bill else None,
        next_bill_cents=bill[1] if bill else None,
        card=subscription.card_label,
        past_due_since=subscription.past_due_since,
        next_retry_at=subscription.next_retry_at,
        next_action=action,
        scheduled=outcome.scheduled,
    )


def invoice_read(invoice: Invoice) -> InvoiceRead:
    """An invoice as the API shows it."""
    base = f"/api/billing/invoices/{invoice.id}"
    return InvoiceRead(
        id=invoice.id,
        number=invoice.number,
        issued_at=invoice.issued_at,
        currency=invoice.currency,
        total_cents=invoice.total_cents,
        net_cents=invoice.net_cents,
        vat_cents=invoice.vat_cents,
        lines=[
            InvoiceLineRead(
                description=line.description,
                service_start=line.service_start,
                service_end=line.service_end,
                vat_rate_percent=line.vat_rate_basis_points / 100,
                gross_cents=line.gross_cents,
                net_cents=line.net_cents,
                vat_cents=line.vat_cents,
            )
            for line in invoice.lines
        ],
        html_url=f"{base}/html",
        pdf_url=f"{base}/pdf",
    )


def invoice_pdf_response(invoice: Invoice) -> Response:
    """The invoice's PDF, as a download named after its number."""
    return Response(
        invoice_pdf(invoice_document(invoice)),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{invoice.number}.pdf"',
            "Cache-Control": "private, no-store",
        },
    )


def invoice_html_response(request: Request, invoice: Invoice) -> Response:
    """The invoice as a printable page."""
    return render(request, "billing_invoice.html", {"doc": invoice_document(invoice)})


def _live(db: Session, user_id: str) -> Subscription:
    subscription = billing.latest_subscription(db, user_id=user_id)
    if subscription is None:
        raise billing.NoSubscription("the account has no subscription")
    return subscription


@router.get("/plans", response_model=list[PlanRead])
def plans(db: DbDep) -> list[PlanRead]:
    """The plans on offer, cheapest first."""
    return [plan_read(plan) for plan in billing.list_plans(db)]


@router.get("/subscription", response_model=SubscriptionRead)
def get_subscription(db: DbDep, user: ApiUserDep) -> SubscriptionRead:
    """The account's subscription (the live one, or the last one that ended)."""
    return subscription_read(db, billing.Outcome(_live(db, user.id)))


@router.post("/subscription", response_model=SubscriptionRead, status_code=201)
def subscribe(
    body: SubscribeRequest, db: DbDep, ctx: BillingDep, user: ApiUserDep
) -> SubscriptionRead:
    """Subscribe: a trial for a first subscription, else the first month charged now."""
    outcome = billing.subscribe(
        db,
        ctx=ctx,
        user_id=user.id,
        email=user.email,
        plan_code=body.plan,
        card_number=body.card_number,
    )
    return subscription_read(db, outcome)


@router.post("/subscription/plan", response_model=SubscriptionRead)
def change_plan(
    body: PlanChangeRequest, db: DbDep, ctx: BillingDep, user: ApiUserDep
) -> SubscriptionRead:
    """Change plan: an upgrade is charged (prorated) and applies now; a downgrade at period end."""
    outcome = billing.change_plan(db, ctx=ctx, user_id=user.id, plan_code=body.plan)
    return subscription_read(db, outcome)


@router.put("/subscription/card", response_model=SubscriptionRead)
def update_card(
    body: CardRequest, db: DbDep, ctx: BillingDep, user: ApiUserDep
) -> SubscriptionRead:
    """Replace the card; an unpaid period is retried on it at once."""
    outcome = billing.update_card(db, ctx=ctx, user_id=user.id, card_number=body.card_number)
    return subscription_read(db, outcome)


@router.post("/subscription/cancel", response_model=SubscriptionRead)
def cancel(
    body: ConfirmRequest, db: DbDep, platform: PlatformDep, user: ApiUserDep
) -> SubscriptionRead:
    """Résilier: access lasts to the end of the paid period; an email confirms the end date."""
    subscription = billing.cancel(db, clock=platform.clock, user_id=user.id)
    return subscription_read(db, billing.Outcome(subscription))


@router.post("/subscription/resume", response_model=SubscriptionRead)
def resume(
    body: ConfirmRequest, db: DbDep, platform: PlatformDep, user: ApiUserDep
) -> SubscriptionRead:
    """Withdraw a résiliation before its end date."""
    subscription = billing.resume(db, clock=platform.clock, user_id=user.id)
    return subscription_read(db, billing.Outcome(subscription))


@router.get("/entitlements", response_model=EntitlementsRead)
def entitlements(db: DbDep, ctx: BillingDep, user: ApiUserDep) -> EntitlementsRead:
    """What the account may do now: streams at once, best resolution, downloads."""
    granted = billing.entitlements(db, user_id=user.id, at=ctx.clock.now(), policy=ctx.policy)
    return EntitlementsRead(
        active=granted.active,
        plan_code=granted.plan_code,
        plan_name=granted.plan_name,
        streams=granted.streams,
        max_resolution=granted.max_resolution,
        downloads=granted.downloads,
        period_end=granted.period_end,
    )


@router.get("/invoices", response_model=list[InvoiceRead])
def invoices(db: DbDep, user: ApiUserDep) -> list[InvoiceRead]:
    """The account's invoices, newest first."""
    return [invoice_read(invoice) for invoice in billing.list_invoices(db, user_id=user.id)]


@router.get("/invoices/{invoice_id}", response_model=InvoiceRead)
def invoice(invoice_id: str, db: DbDep, user: ApiUserDep) -> InvoiceRead:
    """One of the account's invoices."""
    return invoice_read(billing.get_invoice(db, user_id=user.id, invoice_id=invoice_id))


@router.get(
    "/invoices/{invoice_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the invoice as PDF"}},
)
def invoice_as_pdf(invoice_id: str, db: DbDep, user: ApiUserDep) -> Response:
    """One of the account's invoices as PDF."""
    return invoice_pdf_response(billing.get_invoice(db, user_id=user.id, invoice_id=invoice_id))


@router.get(
    "/invoices/{invoice_id}/html",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "the invoice as a page"}},
)
def invoice_as_html(request: Request, invoice_id: str, db: DbDep, user: ApiUserDep) -> Response:
    """One of the account's invoices as a printable HTML page."""
    found = billing.get_invoice(db, user_id=user.id, invoice_id=invoice_id)
    return invoice_html_response(request, found)


async def _raw_body(request: Request) -> bytes:
    return await request.body()


@router.post("/webhooks", response_model=WebhookAck)
def webhook(
    request: Request,
    body: Annotated[bytes, Depends(_raw_body)],
    db: DbDep,
    platform: PlatformDep,
    ctx: BillingDep,
) -> WebhookAck:
    """Payment provider events, signed (HMAC-SHA256 over timestamp and body) and verified.

    Forged or stale signatures get 400; an event already received gets 200 "duplicate"
    and changes nothing, so the provider stops sending it.
    """
    if len(body) > 64 * 1024:
        raise Problem(413, "Webhook too large")
    status = billing.receive_webhook(
        db,
        ctx=ctx,
        secret=platform.settings.webhook_secret(),
        tolerance_seconds=platform.settings.billing_webhook_tolerance_seconds,
        body=body,
        signature=request.headers.get(SIGNATURE_HEADER),
    )
    return WebhookAck(status=status)


@router.get("/subscriptions", response_model=SubscriptionPage)
def all_subscriptions(
    db: DbDep,
    operator: OperatorDep,
    state: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SubscriptionPage:
    """Every account's subscriptions, for the operator console (operators only)."""
    rows, total = billing.list_subscriptions(db, state=state, limit=limit, offset=offset)
    return SubscriptionPage(
        items=[
            SubscriptionSummary(
                id=row.id,
                user_id=row.user_id,
                billing_email=row.billing_email,
                state=row.state,
                plan_code=row.plan_code,
                current_period_end=row.current_period_end,
                cancel_at_period_end=row.cancel_at_period_end,
                past_due_since=row.past_due_since,
                created_at=row.created_at,
            )
            for row in rows
        ],
        total=total,
    )
