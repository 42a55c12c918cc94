"""``POST /api/qoe/events``: signed-in players only, strict batches, bounded size."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from cineflux.db import transaction
from cineflux.platform import Platform
from cineflux.telemetry import service as telemetry

SESSION = "c0ffee00-1234-4abc-9def-000000000001"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"


def batch(*events: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "session_id": SESSION,
        "title_id": "9b2d7c40-1f3a-4e8b-8d6a-5c0e2b7f1a90",
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
        events = telemetry.session_events(session, SESSION)
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
        assert telemetry.session_events(session, SESSION) == []


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
