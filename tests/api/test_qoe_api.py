"""``POST /api/qoe/events``: signed-in players only, for their own account's plays, strict
batches, bounded size, a rate limit per account."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from cineflux.clock import FrozenClock
from cineflux.db import transaction
from cineflux.platform import Platform
from cineflux.playback import service as playback
from cineflux.profiles import service as profiles
from cineflux.telemetry import service as telemetry
from tests.api.conftest import make_user
from tests.factories import make_title

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
TITLE = {"id": ""}
SESSION = {"id": ""}


def open_play(platform: Platform, user_id: str, title_id: str | None = None) -> tuple[str, str]:
    """A playback session of the account (admitted as the playback service does); its id
    and its title's."""
    with transaction(platform.sessions) as session:
        if title_id is None:
            title_id = make_title(session, platform.clock, "Essai QoE").id
        profile = profiles.ensure_first_profile(
            session, clock=platform.clock, user_id=user_id, name="Ana"
        )
        row = playback.admit(
            session,
            playback.NewPlay(
                user_id=user_id, profile_id=profile.id, title_id=title_id,
                storage_prefix=f"titles/{title_id}/", territory="FR", duration_seconds=60.0,
                device=playback.Device(codecs=("avc1",)),
            ),
            stream_limit=10, now=platform.clock.now(), policy=playback.PlaybackPolicy(),
        )  # fmt: skip
        return row.id, title_id


@pytest.fixture(autouse=True)
def own_play(platform: Platform, user_id: str) -> None:
    """The signed-in subscriber's play that the batches below report on."""
    SESSION["id"], TITLE["id"] = open_play(platform, user_id)


def batch(*events: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "session_id": SESSION["id"],
        "title_id": TITLE["id"],
        "edge": "127.0.0.1:9301",
        "events": list(events) or [{"kind": "startup", "ms": 420}],
    }
    body.update(changes)
    return body


def post(client: TestClient, body: Any, **headers: str) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(
        "/api/qoe/events",
        content=raw,
        headers={"Content-Type": "application/json", "User-Agent": CHROME, **headers},
    )


def test_a_signed_in_player_reports_a_batch(signed_in: TestClient, platform: Platform) -> None:
    response = post(
        signed_in,
        batch(
            {"kind": "startup", "ms": 420, "at": "2026-01-15T11:59:58Z"},
            {"kind": "played", "ms": 9500},
            {"kind": "rebuffer", "duration_ms": 300},
            {"kind": "bitrate", "from_bps": 800000, "to_bps": 3200000},
            {"kind": "error", "code": "1001"},
            {"kind": "cmcd", "query": "CMCD=br%3D3200%2Cot%3Dv%2Csu"},
        ),
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 6}
    with transaction(platform.sessions) as session:
        events = telemetry.session_events(session, SESSION["id"])
        assert [e.kind for e in events] == [
            "startup",
            "played",
            "rebuffer",
            "bitrate",
            "error",
            "cmcd",
        ]
        assert events[-1].cmcd == {"br": 3200, "ot": "v", "su": True}
        assert {(e.edge, e.device_class, e.client_family) for e in events} == {
            ("127.0.0.1:9301", "desktop", "chrome")
        }


def test_strangers_are_refused(client: TestClient) -> None:
    response = post(client, batch())
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_strangers_learn_nothing_about_the_size_limit(client: TestClient) -> None:
    assert post(client, b"x" * 100_000).status_code == 401


def test_a_malformed_batch_is_a_422_problem_naming_the_field(signed_in: TestClient) -> None:
    response = post(signed_in, batch({"kind": "startup", "ms": "fast"}))
    assert response.status_code == 422
    problem = response.json()
    assert problem["title"] == "Invalid QoE batch"
    assert any(e["loc"][:3] == ["events", 0, "startup"] for e in problem["errors"])


def test_malformed_json_and_unknown_kinds_are_422(signed_in: TestClient) -> None:
    assert post(signed_in, b"{not json").status_code == 422
    assert post(signed_in, batch({"kind": "teleport"})).status_code == 422
    assert post(signed_in, [batch()]).status_code == 422


def test_malformed_cmcd_is_a_422_naming_the_event(signed_in: TestClient) -> None:
    response = post(
        signed_in,
        batch({"kind": "played", "ms": 1}, {"kind": "cmcd", "query": "CMCD=ot%3Dzz"}),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["events", 1]
    assert "ot" in response.json()["detail"]


def test_nothing_is_stored_from_a_refused_batch(signed_in: TestClient, platform: Platform) -> None:
    post(signed_in, batch({"kind": "startup", "ms": 5}, {"kind": "cmcd", "query": "CMCD=br"}))
    with transaction(platform.sessions) as session:
        assert telemetry.session_events(session, SESSION["id"]) == []


def test_a_batch_over_the_size_limit_is_413(signed_in: TestClient) -> None:
    padding = "CMCD=" + "x%3D1%2C" * 9000
    response = post(signed_in, batch({"kind": "cmcd", "query": padding}))
    assert response.status_code == 413
    assert response.json()["title"] == "Batch too large"


def test_too_many_events_are_refused(signed_in: TestClient) -> None:
    response = post(signed_in, batch(*[{"kind": "played", "ms": 1}] * 101))
    assert response.status_code == 422


def test_only_json_is_accepted(signed_in: TestClient) -> None:
    response = post(signed_in, batch(), **{"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_a_streamed_body_is_cut_at_the_limit(signed_in: TestClient) -> None:
    chunks = iter([b'{"events": ["' + b"x" * 40_000, b"x" * 40_000 + b'"]}'])
    response = signed_in.post(
        "/api/qoe/events", content=chunks, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_a_session_of_another_account_is_404_and_stores_nothing(
    signed_in: TestClient, platform: Platform
) -> None:
    someone_else = make_user(platform, "bob@example.org")
    their_play, _ = open_play(platform, someone_else, TITLE["id"])
    response = post(signed_in, batch(session_id=their_play))
    assert response.status_code == 404
    assert response.json()["title"] == "Playback session not found"
    assert post(signed_in, batch(session_id="no-such-session-id")).status_code == 404
    with transaction(platform.sessions) as session:
        assert telemetry.session_events(session, their_play) == []


def test_a_batch_naming_another_title_than_the_plays_is_422(signed_in: TestClient) -> None:
    response = post(signed_in, batch(title_id="9b2d7c40-1f3a-4e8b-8d6a-5c0e2b7f1a90"))
    assert response.status_code == 422
    assert "another title" in response.json()["detail"]


def test_past_its_events_per_minute_an_account_gets_429_with_retry_after(
    signed_in: TestClient, clock: FrozenClock
) -> None:
    full = batch(*[{"kind": "played", "ms": 1}] * 100)
    limit = telemetry.QoePolicy().events_per_minute
    for _ in range(limit // 100 - 1):
        assert post(signed_in, full).status_code == 202
        clock.advance(timedelta(seconds=10))
    assert post(signed_in, full).status_code == 202  # exactly the limit, at t = 50 s
    refused = post(signed_in, batch())
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    # The first batch (t = 0) leaves the one-minute window 10 s from now.
    assert refused.headers["Retry-After"] == "10"
    clock.advance(timedelta(seconds=9))
    assert post(signed_in, batch()).status_code == 429
    clock.advance(timedelta(seconds=1))
    assert post(signed_in, full).status_code == 202


def test_a_player_gone_while_sending_is_no_server_error(
    signed_in: TestClient, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    """A page closed mid-report (its keepalive fetch cut): 499 in the log, nothing stored,
    no traceback."""
    cookie = f"cineflux_session={signed_in.cookies.get('cineflux_session')}"
    started: list[int] = []
    parts = iter([
        {"type": "http.request", "body": b'{"session_id": "', "more_body": True},
        {"type": "http.disconnect"},
    ])  # fmt: skip

    async def receive() -> dict[str, Any]:
        return next(parts)

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.append(message["status"])

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/api/qoe/events", "raw_path": b"/api/qoe/events",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "headers": [
            (b"host", b"testserver"), (b"content-type", b"application/json"),
            (b"cookie", cookie.encode()),
        ],
    }  # fmt: skip
    with caplog.at_level(logging.INFO, logger="cineflux.http"):
        anyio.run(signed_in.app, scope, receive, send)
    assert started == [499]
    (line,) = [r for r in caplog.records if r.name == "cineflux.http"]
    assert line.getMessage() == "POST /api/qoe/events 499" and line.exc_info is None
    with transaction(platform.sessions) as session:
        assert telemetry.session_events(session, SESSION["id"]) == []
