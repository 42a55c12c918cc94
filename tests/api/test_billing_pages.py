"""Billing pages through the real forms: plans, the account page, Résilier in three clicks."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cineflux.accounts import service as accounts
from cineflux.app import create_app
from cineflux.billing.tasks import run_billing
from cineflux.clock import FrozenClock
from cineflux.db import transaction
from cineflux.mail.models import OutboxMessage
from cineflux.platform import Platform
from tests.api.conftest import PASSWORD, make_user, page_csrf, sign_in

OK = "4242424242424242"


@pytest.fixture(autouse=True)
def no_trial(platform: Platform) -> None:
    """The first month is charged at once."""
    platform.settings.billing_trial_days = 0


def choose(client: TestClient, plan: str = "standard", card: str = OK) -> str:
    """Press a plan's Choose button with a card; where the site sends the browser."""
    response = client.post(
        f"/plans/{plan}/choose", data={"csrf": page_csrf(client, "/plans"), "card_number": card}
    )
    assert response.status_code in (303, 402), response.text
    return response.headers.get("location", "")


def test_the_plans_page_offers_every_plan_with_a_choose_button(signed_in: TestClient) -> None:
    page = signed_in.get("/plans")
    assert page.status_code == 200
    for name in ("Essentiel", "Standard", "Premium"):
        assert f"Choisir {name}" in page.text
    assert "7,99\u00a0€" in page.text and "19,99\u00a0€" in page.text


def test_a_trial_is_announced_to_a_first_time_subscriber(
    signed_in: TestClient, platform: Platform
) -> None:
    platform.settings.billing_trial_days = 7
    assert "7 jours d'essai gratuits" in signed_in.get("/plans").text
    assert choose(signed_in) == "/account"
    assert "Essai gratuit jusqu'au 22/01/2026" in signed_in.get("/account").text


def test_choosing_a_plan_leads_to_the_account_page(signed_in: TestClient) -> None:
    assert choose(signed_in, "premium") == "/account"
    page = signed_in.get("/account").text
    assert "Premium" in page
    assert re.search(r"19,99\s€ le 15/02/2026", page), "next bill date and amount"
    invoice = re.search(r'href="/account/invoices/([0-9a-f-]+)"', page)
    assert invoice and f"/account/invoices/{invoice.group(1)}/pdf" in page
    html = signed_in.get(f"/account/invoices/{invoice.group(1)}")
    assert "CFX-2026-000001" in html.text
    pdf = signed_in.get(f"/account/invoices/{invoice.group(1)}/pdf")
    assert pdf.content.startswith(b"%PDF")


def test_a_declined_card_says_so_on_the_plans_page(signed_in: TestClient) -> None:
    response = signed_in.post(
        "/plans/standard/choose",
        data={"csrf": page_csrf(signed_in, "/plans"), "card_number": "4000000000000002"},
    )
    assert response.status_code == 402
    assert "the card was declined" in response.text
    assert "Vous n'avez pas d'abonnement" in signed_in.get("/account").text


def test_an_unverified_email_is_asked_to_verify_first(
    client: TestClient, platform: Platform
) -> None:
    with transaction(platform.sessions) as session:
        accounts.create_user(
            session,
            clock=platform.clock,
            email="new@example.org",
            password=PASSWORD,
            email_verified=False,
        )
    sign_in(client, "new@example.org")
    response = client.post(
        "/plans/standard/choose", data={"csrf": page_csrf(client, "/plans"), "card_number": OK}
    )
    assert response.status_code == 403
    assert "verify your email address first" in response.text


def test_forms_without_the_session_token_are_refused(signed_in: TestClient) -> None:
    response = signed_in.post("/plans/standard/choose", data={"csrf": "0" * 64, "card_number": OK})
    assert response.status_code == 403
    choose(signed_in)
    assert signed_in.post("/account/cancel", data={"csrf": "0" * 64}).status_code == 403
    assert "Résilier" in signed_in.get("/account").text  # still subscribed, not ending


def test_resilier_takes_three_clicks_and_emails_the_end_date(
    signed_in: TestClient, platform: Platform
) -> None:
    choose(signed_in)
    account = signed_in.get("/account").text
    link = re.search(r'<a id="resilier"[^>]*href="([^"]+)"[^>]*>Résilier</a>', account)
    assert link, "a visible Résilier entry on the account page"
    confirm = signed_in.get(link.group(1))  # click 1
    assert 'id="end-date">15/02/2026<' in confirm.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', confirm.text)
    assert csrf
    done = signed_in.post("/account/cancel", data={"csrf": csrf.group(1)})  # click 2
    assert done.status_code == 303
    final = signed_in.get(done.headers["location"])  # the browser follows: the done page
    assert 'id="end-date">15/02/2026<' in final.text
    assert "email de confirmation" in final.text
    with transaction(platform.sessions) as session:
        [mail] = session.scalars(select(OutboxMessage))
    assert mail.to_address == "ana@example.org"
    assert "prend fin le 15/02/2026" in mail.text_body
    account = signed_in.get("/account").text
    assert "Reprendre mon abonnement" in account and "Prochain prélèvement" not in account


def test_an_upgrade_from_the_account_page_is_charged_at_once(signed_in: TestClient) -> None:
    choose(signed_in, "essentiel")
    response = signed_in.post(
        "/account/plan", data={"csrf": page_csrf(signed_in, "/account"), "plan": "premium"}
    )
    assert response.headers["location"] == "/account"
    page = signed_in.get("/account").text
    assert "Premium · 19,99" in page
    assert len(re.findall(r"CFX-2026-00000\d", page)) == 2


def test_3d_secure_at_the_simulated_bank_activates_by_webhook(
    signed_in: TestClient, platform: Platform
) -> None:
    target = choose(signed_in, card="4000002760003184")
    assert target.startswith("/billing/authenticate/pi_")
    bank = signed_in.get(target)
    assert "13,99" in bank.text
    assert "Paiement en attente" in signed_in.get("/account").text
    make_user(platform, "bob@example.org")
    bob = TestClient(create_app(platform), follow_redirects=False)
    sign_in(bob, "bob@example.org")
    assert bob.get(target).status_code == 404  # another account's payment is not there
    answered = signed_in.post(
        target, data={"csrf": page_csrf(signed_in, target), "decision": "approve"}
    )
    assert answered.headers["location"] == "/account"
    page = signed_in.get("/account").text
    assert "Actif" in page and "CFX-2026-000001" in page


def test_the_account_page_follows_a_failed_renewal_to_its_cancellation(
    signed_in: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    choose(signed_in)
    signed_in.post(
        "/account/card",
        data={"csrf": page_csrf(signed_in, "/account"), "card_number": "4000000000000002"},
    )
    clock.advance(timedelta(days=31))
    assert run_billing(platform).outcomes["failed"] == 1
    sign_in(signed_in)  # the web session expired while time went by
    assert "Paiement en échec : nous réessayons le 16/02/2026" in signed_in.get("/account").text
    clock.advance(timedelta(days=15))
    run_billing(platform)
    sign_in(signed_in)
    page = signed_in.get("/account").text
    assert "Résilié (impayé) le" in page and "Se réabonner" in page
