"""TV sign-in by RFC 8628 and refresh token rotation, through HTTP."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

from cineflux.clock import FrozenClock
from tests.api.conftest import page_csrf

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def start(client: TestClient) -> dict[str, Any]:
    """A TV starts sign-in."""
    response = client.post("/api/device/code")
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("no-store")
    body: dict[str, Any] = response.json()
    return body


def poll(client: TestClient, device_code: str) -> Response:
    """The TV asks for its tokens."""
    return client.post(
        "/api/device/token", data={"grant_type": DEVICE_GRANT, "device_code": device_code}
    )


def answer(client: TestClient, user_code: str, decision: str = "approve") -> Response:
    """The signed-in subscriber answers on /activate."""
    csrf = page_csrf(client, f"/activate?user_code={user_code}")
    return client.post(
        "/activate", data={"user_code": user_code, "decision": decision, "csrf": csrf}
    )


def bearer(token: str) -> dict[str, str]:
    """The header a device sends."""
    return {"Authorization": f"Bearer {token}"}


def tv_tokens(tv: TestClient, phone: TestClient) -> dict[str, Any]:
    """The whole flow: code, approval on the phone, tokens on the TV."""
    started = start(tv)
    assert answer(phone, started["user_code"]).status_code == 200
    response = poll(tv, started["device_code"])
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def test_device_code_response_follows_rfc_8628(client: TestClient) -> None:
    started = start(client)
    assert re.fullmatch(
        r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", started["user_code"]
    )
    assert started["verification_uri"] == "http://127.0.0.1:8000/activate"
    assert started["verification_uri_complete"] == (
        f"http://127.0.0.1:8000/activate?user_code={started['user_code']}"
    )
    assert (started["expires_in"], started["interval"]) == (600, 5)
    assert len(started["device_code"]) >= 43
    assert start(client)["device_code"] != started["device_code"]


def test_pending_then_slow_down_when_polled_too_fast(
    client: TestClient, clock: FrozenClock
) -> None:
    code = start(client)["device_code"]
    first = poll(client, code)
    assert first.status_code == 400
    assert first.json()["error"] == "authorization_pending"
    assert first.headers["cache-control"].startswith("no-store")
    clock.advance(timedelta(seconds=4))
    assert poll(client, code).json()["error"] == "slow_down"
    clock.advance(timedelta(seconds=5))  # the interval is now 10 s
    assert poll(client, code).json()["error"] == "slow_down"
    clock.advance(timedelta(seconds=15))
    assert poll(client, code).json()["error"] == "authorization_pending"


def test_approved_device_gets_tokens_once(
    client: TestClient, signed_in: TestClient, clock: FrozenClock
) -> None:
    tv = TestClient(client.app)
    started = start(tv)
    assert poll(tv, started["device_code"]).json()["error"] == "authorization_pending"
    page = signed_in.get(f"/activate?user_code={started['user_code']}")
    assert f'value="{started["user_code"]}"' in page.text
    approved = answer(signed_in, started["user_code"].lower().replace("-", ""))
    assert approved.status_code == 200 and "Device signed in" in approved.text
    clock.advance(timedelta(seconds=5))
    tokens = poll(tv, started["device_code"])
    assert tokens.status_code == 200
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert tokens.headers["cache-control"].startswith("no-store")
    me = tv.get("/api/me", headers=bearer(body["access_token"]))
    assert me.json()["email"] == "ana@example.org"
    clock.advance(timedelta(seconds=5))
    used_twice = poll(tv, started["device_code"])
    assert used_twice.status_code == 400 and used_twice.json()["error"] == "invalid_grant"


def test_denied_device_hears_access_denied(client: TestClient, signed_in: TestClient) -> None:
    tv = TestClient(client.app)
    started = start(tv)
    denied = answer(signed_in, started["user_code"], "deny")
    assert denied.status_code == 200 and "Device refused" in denied.text
    assert poll(tv, started["device_code"]).json()["error"] == "access_denied"
    assert answer(signed_in, started["user_code"]).status_code == 400  # decided already


def test_code_expires_after_ten_minutes(
    client: TestClient, signed_in: TestClient, clock: FrozenClock
) -> None:
    tv = TestClient(client.app)
    started = start(tv)
    clock.advance(timedelta(minutes=10))
    late = answer(signed_in, started["user_code"])
    assert late.status_code == 400 and "wrong or expired" in late.text
    assert poll(tv, started["device_code"]).json()["error"] == "expired_token"


def test_activation_needs_a_signed_in_subscriber_and_the_csrf_token(
    client: TestClient, signed_in: TestClient
) -> None:
    tv = TestClient(client.app)
    started = start(tv)
    anonymous = TestClient(client.app, follow_redirects=False)
    redirect = anonymous.get(f"/activate?user_code={started['user_code']}")
    assert redirect.status_code == 303
    assert redirect.headers["location"].startswith("/login?next=/activate%3Fuser_code%3D")
    forged = signed_in.post(
        "/activate",
        data={"user_code": started["user_code"], "decision": "approve", "csrf": "0" * 64},
    )
    assert forged.status_code == 403
    assert poll(tv, started["device_code"]).json()["error"] == "authorization_pending"


def test_unknown_codes_are_refused(client: TestClient, signed_in: TestClient) -> None:
    assert answer(signed_in, "BCDF-GHJK").status_code == 400
    unknown = poll(client, "not-a-device-code")
    assert unknown.json()["error"] == "invalid_grant"


def test_token_endpoint_speaks_oauth_errors(client: TestClient) -> None:
    wrong_grant = client.post("/api/token", data={"grant_type": "password"})
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["error"] == "unsupported_grant_type"
    missing = client.post("/api/token", data={"grant_type": "refresh_token"})
    assert missing.json()["error"] == "invalid_request"
    no_code = client.post("/api/device/token", data={"grant_type": DEVICE_GRANT})
    assert no_code.json()["error"] == "invalid_request"


def test_refresh_rotates_and_reuse_signs_the_device_out(
    client: TestClient, signed_in: TestClient
) -> None:
    tv = TestClient(client.app)
    first = tv_tokens(tv, signed_in)
    rotated = tv.post(
        "/api/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert tv.get("/api/me", headers=bearer(second["access_token"])).status_code == 200

    stolen = tv.post(
        "/api/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    # The whole family is revoked: the legitimate device's newest tokens stop working too.
    legit = tv.post(
        "/api/token", data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"]}
    )
    assert legit.json()["error"] == "invalid_grant"
    assert tv.get("/api/me", headers=bearer(second["access_token"])).status_code == 401


def test_access_tokens_last_fifteen_minutes(
    client: TestClient, signed_in: TestClient, clock: FrozenClock
) -> None:
    tv = TestClient(client.app)
    tokens = tv_tokens(tv, signed_in)
    clock.advance(timedelta(minutes=14, seconds=59))
    assert tv.get("/api/me", headers=bearer(tokens["access_token"])).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert tv.get("/api/me", headers=bearer(tokens["access_token"])).status_code == 401
    refreshed = tv.post(
        "/api/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert tv.get("/api/me", headers=bearer(refreshed.json()["access_token"])).status_code == 200


def test_revoking_the_refresh_token_signs_the_device_out(
    client: TestClient, signed_in: TestClient
) -> None:
    tv = TestClient(client.app)
    tokens = tv_tokens(tv, signed_in)
    assert tv.post("/api/token/revoke", data={"token": tokens["refresh_token"]}).status_code == 200
    assert tv.get("/api/me", headers=bearer(tokens["access_token"])).status_code == 401
    refused = tv.post(
        "/api/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refused.json()["error"] == "invalid_grant"
    assert tv.post("/api/token/revoke", data={"token": "unknown"}).status_code == 200


def test_openapi_documents_the_account_endpoints_and_bearer_tokens(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    for path in (
        "/api/signup",
        "/api/verify-email",
        "/api/password-reset",
        "/api/password-reset/confirm",
        "/api/token",
        "/api/device/code",
        "/api/device/token",
        "/api/me",
    ):
        assert path in spec["paths"], path
    token = spec["paths"]["/api/token"]["post"]["responses"]
    assert token["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/TokenRead")
    assert token["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/OAuthErrorRead")
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
