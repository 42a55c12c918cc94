"""Sign-up and email verification through the pages and the API, with mail really received."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from httpx2 import Response

from cineflux.clock import FrozenClock
from cineflux.mail.devserver import LocalSmtpServer
from cineflux.platform import Platform
from tests.api.conftest import PASSWORD, sign_in
from tests.mail_helpers import deliver, token_in


def _form_csrf(client: TestClient, path: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match, f"{path} carries a CSRF field"
    return match.group(1)


def _sign_up(client: TestClient, email: str = "zoe@example.org", **fields: str) -> Response:
    csrf = _form_csrf(client, "/signup")
    data = {"email": email, "password": PASSWORD, "name": "Zoé", "csrf": csrf}
    data.update(fields)
    return client.post("/signup", data=data)


def test_sign_up_page_signs_in_unverified_and_goes_to_the_plans(
    client: TestClient, platform: Platform, mail_server: LocalSmtpServer
) -> None:
    response = _sign_up(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/plans"
    me = client.get("/api/me").json()
    assert (me["email"], me["display_name"], me["email_verified"]) == (
        "zoe@example.org",
        "Zoé",
        False,
    )
    assert deliver(platform, mail_server).sent == 1
    [message] = mail_server.messages()
    assert message["To"] == "zoe@example.org"
    assert "Confirm your email" in message["Subject"]


def test_verification_link_from_the_mail_confirms_once(
    client: TestClient, platform: Platform, mail_server: LocalSmtpServer
) -> None:
    _sign_up(client)
    deliver(platform, mail_server)
    token = token_in(mail_server.messages()[0], "/verify-email")
    page = client.get(f"/verify-email?token={token}")
    assert page.status_code == 200
    assert client.get("/api/me").json()["email_verified"] is False  # a GET changes nothing
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    confirmed = client.post("/verify-email", data={"token": token, "csrf": csrf.group(1)})
    assert confirmed.status_code == 200 and "Email verified" in confirmed.text
    assert client.get("/api/me").json()["email_verified"] is True
    again = client.post(
        "/verify-email", data={"token": token, "csrf": _form_csrf(client, "/verify-email")}
    )
    assert again.status_code == 400 and "already used" in again.text


def test_sign_up_without_the_form_token_creates_nothing(client: TestClient) -> None:
    client.get("/signup")
    response = _sign_up(client, csrf="forged")
    assert response.status_code == 403
    assert client.get("/api/me").status_code == 401
    other = TestClient(client.app, follow_redirects=False)
    assert _sign_up(other).status_code == 303  # the email is still free


def test_sign_up_page_explains_refusals(client: TestClient, user_id: str) -> None:
    taken = _sign_up(client, email="ana@example.org")
    assert taken.status_code == 409
    assert "already uses this email" in taken.text
    short = _sign_up(client, password="short")
    assert short.status_code == 422
    assert "at least 10 characters" in short.text


def test_signed_in_visitors_skip_the_sign_up_form(signed_in: TestClient) -> None:
    response = signed_in.get("/signup")
    assert response.status_code == 303 and response.headers["location"] == "/plans"


def test_api_sign_up_and_verification(
    client: TestClient, platform: Platform, mail_server: LocalSmtpServer
) -> None:
    created = client.post("/api/signup", json={"email": " Zoe@Example.org", "password": PASSWORD})
    assert created.status_code == 201
    assert created.json()["email"] == "zoe@example.org"
    assert created.json()["email_verified"] is False
    again = client.post("/api/signup", json={"email": "zoe@example.org", "password": PASSWORD})
    assert again.status_code == 409
    deliver(platform, mail_server)
    token = token_in(mail_server.messages()[0], "/verify-email")
    assert client.post("/api/verify-email", json={"token": token}).json() == {
        "email_verified": True
    }
    reused = client.post("/api/verify-email", json={"token": token})
    assert reused.status_code == 400
    assert reused.json()["title"] == "Invalid or expired link"


def test_api_sign_up_refuses_weak_passwords(client: TestClient) -> None:
    response = client.post("/api/signup", json={"email": "zoe@example.org", "password": "123"})
    assert response.status_code == 422
    assert "at least 10" in response.json()["detail"]


def test_resending_the_link_needs_a_session_and_replaces_an_expired_one(
    client: TestClient, platform: Platform, mail_server: LocalSmtpServer, clock: FrozenClock
) -> None:
    assert client.post("/api/verify-email/resend").status_code == 401
    _sign_up(client)
    clock.advance(timedelta(hours=48))
    sign_in(client, "zoe@example.org")  # the first session expired too
    resent = client.post("/api/verify-email/resend")
    assert resent.status_code == 202 and resent.json()["detail"] == "link sent"
    deliver(platform, mail_server)
    first, second = mail_server.messages()
    expired = token_in(first, "/verify-email")
    assert client.post("/api/verify-email", json={"token": expired}).status_code == 400
    fresh = token_in(second, "/verify-email")
    assert client.post("/api/verify-email", json={"token": fresh}).status_code == 200
    assert client.post("/api/verify-email/resend").json()["detail"] == (
        "the email is verified already"
    )


def test_existing_subscribers_are_verified(signed_in: TestClient) -> None:
    assert signed_in.get("/api/me").json()["email_verified"] is True


def test_sign_in_page_links_to_sign_up_and_reset(client: TestClient) -> None:
    page = client.get("/login").text
    assert 'href="/signup"' in page and 'href="/forgot-password"' in page
