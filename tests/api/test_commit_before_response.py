"""A request's transaction is committed before its response leaves: a browser that follows
the answer at once (the redirect after signing in) must find what the request wrote."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from cineflux.accounts.models import WebSession
from cineflux.app import create_app
from cineflux.platform import Platform
from cineflux.web.deps import SESSION_COOKIE
from tests.api.conftest import PASSWORD, login_form_csrf, make_user

Message = MutableMapping[str, Any]


def _sessions_committed(platform: Platform) -> int:
    """Web sessions that another connection sees: what was committed."""
    with platform.sessions() as session:
        return session.scalar(select(func.count()).select_from(WebSession)) or 0


def test_signing_in_commits_the_session_before_the_redirect_is_sent(platform: Platform) -> None:
    make_user(platform)
    seen_at_response_start: list[int] = []
    inner = create_app(platform)

    # What a browser sees: the moment the status line arrives it may follow the redirect.
    async def app(
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        async def watching_send(message: Message) -> None:
            if message["type"] == "http.response.start" and scope["method"] == "POST":
                seen_at_response_start.append(_sessions_committed(platform))
            await send(message)

        await inner(scope, receive, watching_send)

    with TestClient(app, follow_redirects=False) as client:
        csrf = login_form_csrf(client)
        response = client.post(
            "/login", data={"email": "ana@example.org", "password": PASSWORD, "csrf": csrf}
        )
        assert response.status_code == 303
        # Before the fix, the commit ran after the response was sent: 0 here.
        assert seen_at_response_start == [1]
        assert client.get("/", follow_redirects=False).status_code == 200


def test_a_commit_that_fails_is_answered_as_a_failure(platform: Platform) -> None:
    make_user(platform)

    def commit_fails(_session: Any) -> None:
        raise RuntimeError("the disk is full")

    app = create_app(platform)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        csrf = login_form_csrf(client)
        event.listen(platform.sessions, "before_commit", commit_fails)
        try:
            response = client.post(
                "/login", data={"email": "ana@example.org", "password": PASSWORD, "csrf": csrf}
            )
        finally:
            event.remove(platform.sessions, "before_commit", commit_fails)
    # Not a 303 with a cookie for a session that was never stored.
    assert response.status_code == 500
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert _sessions_committed(platform) == 0
