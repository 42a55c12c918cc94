"""Sign-in, sign-out, sessions and CSRF through the real forms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from cineflux.clock import FrozenClock
from cineflux.web.deps import SESSION_COOKIE
from tests.api.conftest import PASSWORD, login_form_csrf, page_csrf


def test_pages_send_anonymous_visitors_to_sign_in_and_back(client: TestClient) -> None:
    response = client.get("/titles/abc?format=hls")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/titles/abc%3Fformat%3Dhls"


def test_sign_in_sets_an_httponly_session_cookie(client: TestClient, user_id: str) -> None:
    csrf = login_form_csrf(client)
    response = client.post(
        "/login",
        data={"email": "ana@example.org", "password": PASSWORD, "csrf": csrf, "next": "/"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert client.get("/api/me").json()["email"] == "ana@example.org"


def test_sign_in_without_the_form_token_is_refused(client: TestClient, user_id: str) -> None:
    login_form_csrf(client)
    response = client.post(
        "/login", data={"email": "ana@example.org", "password": PASSWORD, "csrf": "forged"}
    )
    assert response.status_code == 403
    assert client.get("/api/me").status_code == 401


def test_wrong_password_says_so_without_saying_which_part(client: TestClient, user_id: str) -> None:
    csrf = login_form_csrf(client)
    response = client.post(
        "/login", data={"email": "ana@example.org", "password": "nope nope nope", "csrf": csrf}
    )
    assert response.status_code == 401
    assert "Wrong email or password" in response.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/steal"])
def test_sign_in_never_redirects_to_another_site(
    client: TestClient, user_id: str, target: str
) -> None:
    csrf = login_form_csrf(client)
    response = client.post(
        "/login",
        data={"email": "ana@example.org", "password": PASSWORD, "csrf": csrf, "next": target},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_signed_in_visitor_skips_the_form(signed_in: TestClient) -> None:
    response = signed_in.get("/login?next=/titles/x")
    assert response.status_code == 303
    assert response.headers["location"] == "/titles/x"


def test_sign_out_needs_the_session_csrf_token(signed_in: TestClient) -> None:
    forged = signed_in.post("/logout", data={"csrf": "0" * 64})
    assert forged.status_code == 403
    assert signed_in.get("/api/me").status_code == 200
    response = signed_in.post("/logout", data={"csrf": page_csrf(signed_in)})
    assert response.status_code == 303
    assert signed_in.get("/api/me").status_code == 401


def test_session_expires_with_the_clock(signed_in: TestClient, clock: FrozenClock) -> None:
    assert signed_in.get("/api/me").status_code == 200
    clock.advance(timedelta(hours=12))
    assert signed_in.get("/api/me").status_code == 401
    assert signed_in.get("/").status_code == 303


def test_forged_session_cookie_is_nobody(client: TestClient, user_id: str) -> None:
    client.cookies.set(SESSION_COOKIE, "forged-token")
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["title"] == "Sign-in required"
