"""API fixtures: users, signed-in clients, a published title."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cineflux.accounts import service as accounts
from cineflux.db import transaction
from cineflux.media.flows import IngestResult, ingest_into
from cineflux.platform import Platform
from tests.factories import license_in_france

PASSWORD = "a long test password"


def make_user(platform: Platform, email: str = "ana@example.org") -> str:
    """Create a subscriber and return its id."""
    with transaction(platform.sessions) as session:
        return accounts.create_user(
            session, clock=platform.clock, email=email, password=PASSWORD
        ).id


def login_form_csrf(client: TestClient) -> str:
    """Open the sign-in form and return its CSRF token (its cookie is now set)."""
    page = client.get("/login")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, "the sign-in form carries a CSRF field"
    return match.group(1)


def sign_in(client: TestClient, email: str = "ana@example.org", next_path: str = "/") -> None:
    """Sign in through the real form."""
    csrf = login_form_csrf(client)
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf": csrf, "next": next_path}
    )
    assert response.status_code == 303, response.text


def page_csrf(client: TestClient, path: str = "/") -> str:
    """The session CSRF token embedded in a signed-in page."""
    match = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


@pytest.fixture
def user_id(platform: Platform) -> str:
    """A subscriber."""
    return make_user(platform)


@pytest.fixture
def signed_in(client: TestClient, user_id: str) -> TestClient:
    """The client, signed in as the subscriber."""
    sign_in(client)
    return client


@pytest.fixture
def published(platform: Platform, small_film: Path) -> IngestResult:
    """A title ingested from the small test film, licensed in France."""
    result = ingest_into(platform, small_film, name="Essai", year=2024)
    license_in_france(platform, result.title_id)
    return result
