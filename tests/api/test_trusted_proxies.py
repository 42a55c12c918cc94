"""Behind a reverse proxy: the viewer's address comes from X-Forwarded-For, only when the
connection is from a trusted proxy (``CINEFLUX_TRUSTED_PROXIES``). Observed through the
per-address sign-in limit, which must lock the attacker's address and no one else's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from cineflux.accounts.service import ADDRESS_FAILURE_LIMIT
from cineflux.app import create_app
from cineflux.config import Settings
from cineflux.platform import Platform
from tests.api.conftest import login_form_csrf

PROXY = ("10.0.0.5", 40000)


def failed_sign_in(client: TestClient, n: int, forwarded_for: str) -> int:
    """One wrong password for a different account each time; the status."""
    csrf = login_form_csrf(client)
    response = client.post(
        "/login",
        data={"email": f"nobody{n}@example.org", "password": "wrong wrong wrong", "csrf": csrf},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return response.status_code


@pytest.fixture
def proxied(platform: Platform) -> Iterator[TestClient]:
    platform.settings.trusted_proxies = "10.0.0.0/8, ::1"
    with TestClient(create_app(platform), client=PROXY, follow_redirects=False) as client:
        yield client


def test_the_address_behind_a_trusted_proxy_is_the_viewers(proxied: TestClient) -> None:
    for n in range(ADDRESS_FAILURE_LIMIT):
        assert failed_sign_in(proxied, n, "203.0.113.7") == 401
    assert failed_sign_in(proxied, 999, "203.0.113.7") == 429
    # Another viewer behind the same proxy is not locked out with the attacker.
    assert failed_sign_in(proxied, 1000, "203.0.113.8") == 401


def test_forwarding_headers_from_anyone_else_are_ignored(platform: Platform) -> None:
    platform.settings.trusted_proxies = "10.0.0.0/8"
    direct = ("198.51.100.9", 40000)
    with TestClient(create_app(platform), client=direct, follow_redirects=False) as client:
        for n in range(ADDRESS_FAILURE_LIMIT):
            # A client forging a new address each time still counts as itself.
            assert failed_sign_in(client, n, f"203.0.113.{n}") == 401
        assert failed_sign_in(client, 999, "203.0.113.200") == 429


def test_a_proxy_list_that_does_not_parse_is_refused() -> None:
    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(trusted_proxies="10.0.0.0/8, proxy.example")
