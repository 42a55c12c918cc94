"""Billing over HTTP: the JSON API, its isolation between accounts, and signed webhooks."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cineflux.accounts import service as accounts
from cineflux.app import create_app
from cineflux.billing.models import Charge, SimulatedEvent
from cineflux.billing.signatures import SIGNATURE_HEADER, sign
from cineflux.billing.simulated import SimulatedProvider
from cineflux.clock import FrozenClock
from cineflux.db import transaction
from cineflux.platform import Platform
from tests.api.conftest import PASSWORD, make_user, sign_in

OK = "4242424242424242"
AUTHENTICATE = "4000002760003184"


@pytest.fixture(autouse=True)
def no_trial(platform: Platform) -> None:
    """Subscriptions are charged at once unless a test asks for a trial."""
    platform.settings.billing_trial_days = 0


def subscribe(client: TestClient, plan: str = "standard", card: str = OK) -> dict[str, object]:
    response = client.post("/api/billing/subscription", json={"plan": plan, "card_number": card})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


@pytest.fixture
def other(platform: Platform) -> TestClient:
    """A second subscriber, signed in on a client of their own."""
    make_user(platform, "bob@example.org")
    client = TestClient(create_app(platform), follow_redirects=False)
    sign_in(client, "bob@example.org")
    return client


def test_plans_are_listed_without_signing_in(client: TestClient) -> None:
    plans = client.get("/api/billing/plans").json()
    assert [(p["code"], p["price_cents"], p["max_resolution"]) for p in plans] == [
        ("essentiel", 799, "SD"),
        ("standard", 1399, "HD"),
        ("premium", 1999, "UHD"),
    ]


def test_subscribing_gives_a_subscription_entitlements_and_an_invoice(
    signed_in: TestClient,
) -> None:
    created = subscribe(signed_in, "premium")
    assert created["state"] == "active"
    assert created["next_bill_cents"] == 1999
    assert created["next_bill_at"] == "2026-02-15T12:00:00Z"
    assert signed_in.get("/api/billing/subscription").json()["id"] == created["id"]
    granted = signed_in.get("/api/billing/entitlements").json()
    assert (granted["active"], granted["streams"], granted["max_resolution"]) == (True, 4, "UHD")
    [invoice] = signed_in.get("/api/billing/invoices").json()
    assert invoice["number"] == "CFX-2026-000001"
    assert (invoice["net_cents"], invoice["vat_cents"]) == (1666, 333)
    pdf = signed_in.get(invoice["pdf_url"])
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and b"CFX-2026-000001" in pdf.content
    html = signed_in.get(invoice["html_url"])
    assert "CFX-2026-000001" in html.text and "16,66" in html.text


def test_a_second_subscription_is_refused(signed_in: TestClient) -> None:
    subscribe(signed_in)
    again = signed_in.post("/api/billing/subscription", json={"plan": "premium", "card_number": OK})
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


def test_a_declined_card_is_a_402_problem(signed_in: TestClient) -> None:
    response = signed_in.post(
        "/api/billing/subscription", json={"plan": "standard", "card_number": "4000000000000002"}
    )
    assert response.status_code == 402
    assert response.json()["detail"] == "the card was declined"
    assert signed_in.get("/api/billing/subscription").status_code == 404


def test_an_account_cannot_read_anothers_invoice(signed_in: TestClient, other: TestClient) -> None:
    subscribe(signed_in)
    [invoice] = signed_in.get("/api/billing/invoices").json()
    for path in (f"/api/billing/invoices/{invoice['id']}", invoice["pdf_url"], invoice["html_url"]):
        assert signed_in.get(path).status_code == 200
        assert other.get(path).status_code == 404
    assert other.get("/api/billing/invoices").json() == []
    assert other.get("/api/billing/subscription").status_code == 404


def test_billing_needs_a_signed_in_account(client: TestClient) -> None:
    for path in ("/api/billing/subscription", "/api/billing/invoices", "/api/billing/entitlements"):
        assert client.get(path).status_code == 401


def test_the_console_list_is_for_operators_only(signed_in: TestClient, platform: Platform) -> None:
    subscribe(signed_in)
    assert signed_in.get("/api/billing/subscriptions").status_code == 403
    with transaction(platform.sessions) as session:
        accounts.create_user(
            session,
            clock=platform.clock,
            email="op@example.org",
            password=PASSWORD,
            role="operator",
        )
    console = TestClient(create_app(platform), follow_redirects=False)
    sign_in(console, "op@example.org")
    page = console.get("/api/billing/subscriptions?state=active").json()
    assert page["total"] == 1
    assert page["items"][0]["billing_email"] == "ana@example.org"


def test_plan_changes_and_cancellation_over_the_api(
    signed_in: TestClient, clock: FrozenClock
) -> None:
    subscribe(signed_in, "essentiel")
    clock.advance(timedelta(hours=6))  # within the web session's lifetime
    response = signed_in.post("/api/billing/subscription/plan", json={"plan": "premium"})
    assert response.status_code == 200, response.text
    upgraded = response.json()
    assert upgraded["plan"]["code"] == "premium" and not upgraded["scheduled"]
    downgraded = signed_in.post("/api/billing/subscription/plan", json={"plan": "standard"})
    assert downgraded.json()["scheduled"] and downgraded.json()["next_plan"]["code"] == "standard"
    assert len(signed_in.get("/api/billing/invoices").json()) == 2
    # Cancelling needs an explicit JSON confirmation: a cross-site form cannot send one.
    assert signed_in.post("/api/billing/subscription/cancel").status_code == 422
    cancelled = signed_in.post("/api/billing/subscription/cancel", json={"confirm": True}).json()
    assert cancelled["cancel_at_period_end"] and cancelled["ends_at"] == "2026-02-15T12:00:00Z"
    assert cancelled["next_bill_at"] is None
    resumed = signed_in.post("/api/billing/subscription/resume", json={"confirm": True}).json()
    assert not resumed["cancel_at_period_end"]


def _signed_event(platform: Platform, client: TestClient) -> tuple[bytes, str]:
    """Subscribe with a 3-D Secure card, authenticate at the bank: its webhook, signed."""
    created = subscribe(client, card=AUTHENTICATE)
    assert created["state"] == "incomplete"
    assert created["next_action"] is not None
    with transaction(platform.sessions) as session:
        intent = session.scalars(select(Charge.intent_id)).one()
        assert intent is not None
        SimulatedProvider(session, clock=platform.clock).authenticate(intent, approve=True)
    with transaction(platform.sessions) as session:
        payload = session.scalars(select(SimulatedEvent.payload)).one()
    body = json.dumps(payload).encode()
    stamp = int(platform.clock.now().timestamp())
    return body, sign(platform.settings.webhook_secret(), body, stamp)


def test_signed_webhooks_apply_once_and_forgeries_are_refused(
    signed_in: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    body, signature = _signed_event(platform, signed_in)
    post = signed_in.post
    url = "/api/billing/webhooks"
    forged = post(url, content=body, headers={SIGNATURE_HEADER: signature[:-4] + "0000"})
    assert forged.status_code == 400
    tampered = post(
        url, content=body.replace(b"succeeded", b"failed"), headers={SIGNATURE_HEADER: signature}
    )
    assert tampered.status_code == 400
    assert post(url, content=body).status_code == 400
    assert signed_in.get("/api/billing/subscription").json()["state"] == "incomplete"
    assert post(url, content=body, headers={SIGNATURE_HEADER: signature}).json() == {
        "status": "applied"
    }
    assert signed_in.get("/api/billing/subscription").json()["state"] == "active"
    replay = post(url, content=body, headers={SIGNATURE_HEADER: signature})
    assert replay.json() == {"status": "duplicate"}
    clock.advance(timedelta(minutes=10))
    stale = post(url, content=body, headers={SIGNATURE_HEADER: signature})
    assert stale.status_code == 400 and "ago" in stale.json()["detail"]
    assert len(signed_in.get("/api/billing/invoices").json()) == 1


def test_the_api_is_documented_with_its_models(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    paths = spec["paths"]
    assert {"/api/billing/plans", "/api/billing/subscription", "/api/billing/webhooks"} <= set(
        paths
    )
    ok = paths["/api/billing/subscription"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/SubscriptionRead")
    assert (
        "application/pdf"
        in paths["/api/billing/invoices/{invoice_id}/pdf"]["get"]["responses"]["200"]["content"]
    )
