"""An account's first profile, made on its first visit, whatever else writes meanwhile."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, text

from cineflux.accounts import service as accounts
from cineflux.accounts.models import User
from cineflux.db import transaction
from cineflux.platform import Platform
from cineflux.profiles import service as profiles
from cineflux.profiles.models import Profile
from cineflux.web.deps import SESSION_COOKIE
from tests.api.conftest import sign_in

HOUR = timedelta(hours=1)


def _profiles_of(platform: Platform, user_id: str) -> list[str]:
    with platform.sessions() as session:
        return list(session.scalars(select(Profile.id).where(Profile.user_id == user_id)))


@pytest.mark.parametrize("path", ["/", "/profiles", "/api/profiles"])
def test_a_first_visit_makes_the_profile_while_another_writer_commits(
    client: TestClient, platform: Platform, user_id: str, path: str
) -> None:
    # A session opened before sign-ins made the first profile (or a device's): none yet.
    with transaction(platform.sessions) as session:
        user = session.get(User, user_id)
        assert user is not None
        token = accounts.open_session(session, clock=platform.clock, user=user, ttl=HOUR)
    client.cookies.set(SESSION_COOKIE, token)
    assert _profiles_of(platform, user_id) == []
    fired: list[str] = []

    # Right after the page has read the account's (missing) profiles, another writer
    # commits, as an edge's heartbeat or the billing thread does at any moment.
    def another_writer_commits(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if fired or not statement.lstrip().upper().startswith("SELECT"):
            return
        if "FROM profiles" not in statement:
            return
        fired.append(statement)
        with platform.engine.begin() as other:
            other.execute(
                text("UPDATE users SET display_name = display_name || '.' WHERE id = :id"),
                {"id": user_id},
            )

    event.listen(platform.engine, "after_cursor_execute", another_writer_commits)
    try:
        response = client.get(path)
    finally:
        event.remove(platform.engine, "after_cursor_execute", another_writer_commits)
    assert fired, "the page read the account's profiles"
    if response.status_code == 307:  # made apart from the page's (older) snapshot: again
        assert response.headers["location"] == path
        response = client.get(path)
    assert response.status_code == 200, response.text
    assert len(_profiles_of(platform, user_id)) == 1


def test_signing_in_makes_the_first_profile(
    client: TestClient, platform: Platform, user_id: str
) -> None:
    sign_in(client)
    assert len(_profiles_of(platform, user_id)) == 1
    assert client.get("/").status_code == 200  # no page has to make it


def test_two_first_visits_at_once_make_one_profile(platform: Platform, user_id: str) -> None:
    with transaction(platform.sessions) as first:
        made = profiles.ensure_first_profile(
            first, clock=platform.clock, user_id=user_id, name="Ana"
        )
        found: list[str] = []

        def second_visit() -> None:
            with transaction(platform.sessions) as second:
                found.append(
                    profiles.ensure_first_profile(
                        second, clock=platform.clock, user_id=user_id, name="Ana"
                    ).id
                )

        other = threading.Thread(target=second_visit)
        other.start()
        other.join(0.5)
        # Waiting for the account the first visit holds (its row, or SQLite's write lock).
        assert other.is_alive()
    other.join(30)
    assert found == [made.id]
    assert _profiles_of(platform, user_id) == [made.id]
