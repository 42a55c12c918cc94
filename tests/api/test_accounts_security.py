"""Sign-in limits, password reset and isolation between accounts, through HTTP."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from httpx2 import Response

from cineflux.accounts import service as accounts
from cineflux.clock import FrozenClock
from cineflux.db import transaction
from cineflux.mail.devserver import LocalSmtpServer
from cineflux.platform import Platform
from tests.api.conftest import PASSWORD, login_form_csrf, make_user, sign_in
from tests.api.test_device_grant import bearer, tv_tokens
from tests.mail_helpers import deliver, token_in

WRONG = "wrong password!"


def _try(client: TestClient, email: str, password: str = WRONG) -> Response:
    csrf = login_form_csrf(client)
    return client.post("/login", data={"email": email, "password": password, "csrf": csrf})


def test_sixth_attempt_is_refused_with_retry_after_even_with_the_right_password(
    client: TestClient, user_id: str, clock: FrozenClock
) -> None:
    for _ in range(5):
        assert _try(client, "ana@example.org").status_code == 401
    locked = _try(client, "ana@example.org", PASSWORD)
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == str(15 * 60)
    assert "Try again in 15 minutes" in locked.text
    assert client.get("/api/me").status_code == 401
    clock.advance(timedelta(minutes=15))
    assert _try(client, "ana@example.org", PASSWORD).status_code == 303


def test_lock_says_the_same_for_an_email_nobody_has(client: TestClient, user_id: str) -> None:
    pages = {}
    for email in ("ana@example.org", "nobody@example.org"):
        for _ in range(5):
            _try(client, email)
        locked = _try(client, email)
        pages[email] = (locked.status_code, locked.headers["retry-after"])
    assert pages["ana@example.org"] == pages["nobody@example.org"] == (429, "900")


def test_password_reset_by_api_answers_alike_and_mails_only_real_accounts(
    client: TestClient, platform: Platform, user_id: str, mail_server: LocalSmtpServer
) -> None:
    known = client.post("/api/password-reset", json={"email": "ana@example.org"})
    unknown = client.post("/api/password-reset", json={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert deliver(platform, mail_server).sent == 1
    [message] = mail_server.messages()
    assert message["To"] == "ana@example.org"
    assert token_in(message, "/reset-password")


def test_reset_signs_out_every_session_and_device(
    client: TestClient, platform: Platform, signed_in: TestClient, mail_server: LocalSmtpServer
) -> None:
    tv = TestClient(client.app)
    tokens = tv_tokens(tv, signed_in)
    anonymous = TestClient(client.app, follow_redirects=False)
    anonymous.post("/api/password-reset", json={"email": "ana@example.org"})
    deliver(platform, mail_server)
    token = token_in(mail_server.messages()[0], "/reset-password")
    confirmed = anonymous.post(
        "/api/password-reset/confirm", json={"token": token, "password": "a brand new password"}
    )
    assert confirmed.status_code == 204
    assert signed_in.get("/api/me").status_code == 401
    assert tv.get("/api/me", headers=bearer(tokens["access_token"])).status_code == 401
    refresh = tv.post(
        "/api/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refresh.json()["error"] == "invalid_grant"
    again = anonymous.post(
        "/api/password-reset/confirm", json={"token": token, "password": "and another one!"}
    )
    assert again.status_code == 400
    assert _try(anonymous, "ana@example.org", PASSWORD).status_code == 401
    assert _try(anonymous, "ana@example.org", "a brand new password").status_code == 303


def test_reset_through_the_pages(
    client: TestClient, platform: Platform, user_id: str, mail_server: LocalSmtpServer
) -> None:
    form = client.get("/forgot-password")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    sent = client.post("/forgot-password", data={"email": "ana@example.org", "csrf": csrf.group(1)})
    assert sent.status_code == 200 and "Check your mail" in sent.text
    deliver(platform, mail_server)
    token = token_in(mail_server.messages()[0], "/reset-password")
    page = client.get(f"/reset-password?token={token}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    done = client.post(
        "/reset-password",
        data={"token": token, "password": "a brand new password", "csrf": csrf.group(1)},
    )
    assert done.status_code == 200 and "Password changed" in done.text
    assert _try(client, "ana@example.org", "a brand new password").status_code == 303


def test_one_account_cannot_see_or_sign_out_another_s_devices(
    client: TestClient, platform: Platform, signed_in: TestClient
) -> None:
    ana_tv = TestClient(client.app)
    ana_tokens = tv_tokens(ana_tv, signed_in)
    make_user(platform, "bob@example.org")
    bob = TestClient(client.app, follow_redirects=False)
    sign_in(bob, "bob@example.org")
    bob_tv = TestClient(client.app)
    bob_tokens = tv_tokens(bob_tv, bob)

    ana_devices = ana_tv.get("/api/me/devices", headers=bearer(ana_tokens["access_token"])).json()
    bob_devices = bob.get("/api/me/devices").json()
    assert len(ana_devices) == len(bob_devices) == 1
    assert ana_devices[0]["id"] != bob_devices[0]["id"]
    assert bob_tv.get("/api/me", headers=bearer(bob_tokens["access_token"])).json()["email"] == (
        "bob@example.org"
    )

    stolen = bob.delete(f"/api/me/devices/{ana_devices[0]['id']}")
    assert stolen.status_code == 404
    assert ana_tv.get("/api/me", headers=bearer(ana_tokens["access_token"])).status_code == 200
    own = signed_in.delete(f"/api/me/devices/{ana_devices[0]['id']}")
    assert own.status_code == 204
    assert ana_tv.get("/api/me", headers=bearer(ana_tokens["access_token"])).status_code == 401
    assert bob_tv.get("/api/me", headers=bearer(bob_tokens["access_token"])).status_code == 200


def test_a_bearer_token_is_only_ever_its_own_account(
    client: TestClient, platform: Platform, signed_in: TestClient
) -> None:
    make_user(platform, "bob@example.org")
    ana_tokens = tv_tokens(TestClient(client.app), signed_in)
    bob = TestClient(client.app, follow_redirects=False)
    sign_in(bob, "bob@example.org")
    # Bob's own cookie does not make Ana's token his, nor a bad token fall back to the cookie.
    mixed = bob.get("/api/me", headers=bearer(ana_tokens["access_token"]))
    assert mixed.json()["email"] == "ana@example.org"
    forged = bob.get("/api/me", headers=bearer(ana_tokens["access_token"] + "x"))
    assert forged.status_code == 401


def test_operator_endpoints_refuse_subscribers_whatever_their_credentials(
    client: TestClient, platform: Platform, signed_in: TestClient
) -> None:
    tokens = tv_tokens(TestClient(client.app), signed_in)
    assert signed_in.get("/api/media/jobs").status_code == 403
    as_device = client.get("/api/media/jobs", headers=bearer(tokens["access_token"]))
    assert as_device.status_code == 403
    with transaction(platform.sessions) as session:
        accounts.create_user(
            session, clock=platform.clock, email="op@example.org", password=PASSWORD,
            role="operator",
        )  # fmt: skip
    operator = TestClient(client.app, follow_redirects=False)
    sign_in(operator, "op@example.org")
    op_tokens = tv_tokens(TestClient(client.app), operator)
    assert (
        client.get("/api/media/jobs", headers=bearer(op_tokens["access_token"])).status_code == 200
    )
