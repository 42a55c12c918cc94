"""The player's hot routes' units of work (``web.deps.run_signed_in``): on SQLite they run
on the event loop, and a write lock held elsewhere sends them to wait on a thread."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import anyio
import pytest
from fastapi import Request
from fastapi.security import HTTPBearer
from sqlalchemy.orm import Session

from cineflux.accounts import service as accounts
from cineflux.accounts.service import SignedInUser
from cineflux.app import create_app
from cineflux.db import transaction
from cineflux.platform import Platform
from cineflux.playback import service as playback
from cineflux.playback.service import PlaybackPolicy
from cineflux.profiles import service as profiles
from cineflux.web.deps import (
    SESSION_COOKIE,
    Credentials,
    presented_credentials,
    request_credentials,
    run_signed_in,
)
from cineflux.web.problems import Problem
from tests.api.test_playback_api import DEVICE
from tests.playback_helpers import playable_film, subscriber


@pytest.fixture
def signed_in(platform: Platform) -> tuple[str, Credentials]:
    with transaction(platform.sessions) as session:
        user = accounts.create_user(
            session, clock=platform.clock, email="hot@example.org", password="p" * 12
        )
        token = accounts.open_session(
            session, clock=platform.clock, user=user, ttl=timedelta(hours=1)
        )
        return user.id, Credentials(bearer=None, cookie=token)


def sqlite_only(platform: Platform) -> None:
    if platform.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock: PostgreSQL units of work always run on a thread")


def add_profile(platform: Platform, user_id: str, threads: list[str]):  # type: ignore[no-untyped-def]
    def work(db: Session, user: SignedInUser) -> str:
        threads.append(threading.current_thread().name)
        assert user.id == user_id
        return profiles.ensure_first_profile(db, clock=platform.clock, user_id=user.id, name="A").id

    return work


def test_a_writer_runs_on_the_event_loops_thread_when_the_lock_is_free(
    platform: Platform, signed_in: tuple[str, Credentials]
) -> None:
    sqlite_only(platform)
    user_id, credentials = signed_in
    threads: list[str] = []

    async def main() -> str:
        return await run_signed_in(
            platform, credentials, add_profile(platform, user_id, threads), writes=True
        )

    profile_id = anyio.run(main)
    assert threads == [threading.current_thread().name]
    with platform.sessions() as session:
        assert profiles.get_profile(session, user_id=user_id, profile_id=profile_id)


def test_a_writer_waits_for_a_lock_held_elsewhere_on_a_thread_not_on_the_loop(
    platform: Platform, signed_in: tuple[str, Credentials]
) -> None:
    sqlite_only(platform)
    user_id, credentials = signed_in
    threads: list[str] = []
    locked, release = threading.Event(), threading.Event()

    def hold_the_write_lock() -> None:
        with transaction(platform.sessions):  # BEGIN IMMEDIATE: SQLite's write lock
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    assert locked.wait(10)
    ticks: list[int] = []

    async def main() -> str:
        async def tick_then_release() -> None:
            # The loop goes on while the writer waits: it would not if the wait were here.
            for n in range(5):
                ticks.append(n)
                await anyio.sleep(0.01)
            release.set()

        async with anyio.create_task_group() as group:
            group.start_soon(tick_then_release)
            profile_id = await run_signed_in(
                platform, credentials, add_profile(platform, user_id, threads), writes=True
            )
        return profile_id

    try:
        profile_id = anyio.run(main)
    finally:
        release.set()
        holder.join(10)
    assert ticks == [0, 1, 2, 3, 4]
    assert threads and threads[-1] != threading.current_thread().name  # waited on a worker
    with platform.sessions() as session:
        assert profiles.get_profile(session, user_id=user_id, profile_id=profile_id)


def test_without_a_valid_sign_in_nothing_runs(
    platform: Platform, signed_in: tuple[str, Credentials]
) -> None:
    user_id, _ = signed_in
    threads: list[str] = []

    async def main() -> str:
        forged = Credentials(bearer=None, cookie="not-a-session")
        return await run_signed_in(
            platform, forged, add_profile(platform, user_id, threads), writes=True
        )

    with pytest.raises(Problem) as refused:
        anyio.run(main)
    assert refused.value.status == 401
    assert threads == []


def test_fifty_plays_at_once_over_http_admit_exactly_the_plans_two(platform: Platform) -> None:
    """The race through the app itself, all in one event loop (on SQLite: queued, then
    inline; on PostgreSQL: on worker threads under the account's row lock)."""
    with transaction(platform.sessions) as session:
        viewer = subscriber(session, platform.clock, platform.settings, plan="standard")
        film_id = playable_film(session, platform.clock, platform.settings).id
        user = accounts.find_user_by_email(session, viewer.email)
        assert user is not None
        token = accounts.open_session(
            session, clock=platform.clock, user=user, ttl=timedelta(hours=1)
        )
    body = {"title_id": film_id, "profile_id": viewer.profile_id, "device": DEVICE}

    app = create_app(platform)
    request = {
        "type": "http", "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/api/playback", "raw_path": b"/api/playback", "query_string": b"",
        "root_path": "", "server": ("testserver", 80), "client": ("127.0.0.1", 50000),
        "headers": [
            (b"host", b"testserver"), (b"content-type", b"application/json"),
            (b"cookie", f"{SESSION_COOKIE}={token}".encode()),
        ],
    }  # fmt: skip
    payload = json.dumps(body).encode()

    async def main() -> list[int]:
        statuses: list[int] = []

        async def play() -> None:
            # The app as uvicorn calls it, fifty requests in one event loop.
            sent = False

            async def receive() -> dict[str, Any]:
                nonlocal sent
                if sent:
                    await anyio.sleep_forever()
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            await app(dict(request), receive, send)

        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(play)
        return statuses

    statuses = anyio.run(main)
    assert sorted(statuses) == [201] * 2 + [409] * 48
    with platform.sessions() as session:
        live = playback.active_sessions(
            session, user_id=viewer.user_id, now=platform.clock.now(), policy=PlaybackPolicy()
        )
        assert len(live) == 2


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer abc.def", "bearer abc", "BEARER  abc  ", "Bearer", "Bearer ", "Basic eHk="],
)
@pytest.mark.parametrize("cookie", [None, "a-session-token"])
def test_a_hot_route_reads_credentials_as_the_dependency_does(
    authorization: str | None, cookie: str | None
) -> None:
    headers = []
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    if cookie is not None:
        headers.append((b"cookie", f"{SESSION_COOKIE}={cookie}".encode()))
    request = Request({"type": "http", "method": "POST", "path": "/", "headers": headers})

    async def through_the_dependency() -> Credentials:
        bearer = await HTTPBearer(auto_error=False)(request)
        return await presented_credentials(request, bearer)

    expected = anyio.run(through_the_dependency)
    assert request_credentials(request) == expected
    assert expected.cookie == cookie


def test_the_play_route_documents_its_bearer_security(platform: Platform) -> None:
    spec = create_app(platform).openapi()
    assert spec["paths"]["/api/playback"]["post"]["security"] == [{"HTTPBearer": []}]
