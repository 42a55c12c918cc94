"""The delivery network's HTTP API: signed heartbeats and fill plans, the operators' edge list."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient

from cineflux.accounts import service as accounts
from cineflux.app import create_app
from cineflux.catalog import service as catalog
from cineflux.clock import FrozenClock
from cineflux.db import transaction
from cineflux.delivery import service as delivery
from cineflux.delivery.health import HealthPolicy
from cineflux.edge import tokens
from cineflux.media.flows import IngestResult
from cineflux.platform import Platform
from tests.api.conftest import PASSWORD, sign_in

HEARTBEAT = "/api/cdn/heartbeat"


def edge_keys(platform: Platform) -> dict[str, bytes]:
    return tokens.parse_keys(delivery.edge_keys_spec(platform.settings, platform.signing_key))


def report(name: str = "paris-1", **changes: object) -> bytes:
    body = {
        "edge": name,
        "site": "paris",
        "base_url": f"http://{name}.example:8080",
        "healthy": True,
        "load": 0.2,
        "egress_bps": 1_000_000_000,
        "capacity_bps": 10_000_000_000,
        "open_connections": 12,
        "disk_used_bytes": 10**9,
        "disk_capacity_bytes": 10**12,
        **changes,
    }
    return json.dumps(body).encode()


def signed(
    platform: Platform,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    at: int | None = None,
    key: bytes | None = None,
) -> dict[str, str]:
    key_id, real_key = next(iter(edge_keys(platform).items()))
    signature = tokens.sign_request(
        key_id=key_id,
        key=key or real_key,
        method=method,
        target=target,
        body=body,
        at=at if at is not None else int(platform.clock.now().timestamp()),
    )
    return {delivery.EDGE_SIGNATURE_HEADER: signature, "Content-Type": "application/json"}


def send_heartbeat(client: TestClient, platform: Platform, body: bytes) -> dict[str, object]:
    response = client.post(
        HEARTBEAT, content=body, headers=signed(platform, "POST", HEARTBEAT, body)
    )
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


def test_a_signed_heartbeat_registers_the_edge(client: TestClient, platform: Platform) -> None:
    assert send_heartbeat(client, platform, report()) == {"accepted": True, "in_rotation": True}
    answer = send_heartbeat(client, platform, report(load=0.95))
    assert answer == {"accepted": True, "in_rotation": False}


def test_forged_heartbeats_are_refused_and_register_nothing(
    client: TestClient, platform: Platform
) -> None:
    body = report()
    forged_key = signed(platform, "POST", HEARTBEAT, body, key=b"not-the-edge-key-at-all")
    other_body = signed(platform, "POST", HEARTBEAT, report(name="paris-2"))
    for headers in (forged_key, other_body, {"Content-Type": "application/json"}):
        response = client.post(HEARTBEAT, content=body, headers=headers)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"
    with transaction(platform.sessions) as session:
        assert (
            delivery.edge_statuses(session, now=platform.clock.now(), policy=HealthPolicy()) == []
        )


def test_stale_heartbeats_are_refused(client: TestClient, platform: Platform) -> None:
    body = report()
    ten_minutes_ago = int(platform.clock.now().timestamp()) - 600
    response = client.post(
        HEARTBEAT,
        content=body,
        headers=signed(platform, "POST", HEARTBEAT, body, at=ten_minutes_ago),
    )
    assert response.status_code == 401
    assert response.json()["title"] == "Edge signature stale"


def test_a_signed_heartbeat_that_does_not_parse_is_a_problem(
    client: TestClient, platform: Platform
) -> None:
    for body in (b"{not json", report(load="high"), report(site="Not A Site")):
        response = client.post(
            HEARTBEAT, content=body, headers=signed(platform, "POST", HEARTBEAT, body)
        )
        assert response.status_code == 422, (body, response.text)


def test_the_edge_list_is_for_operators_only(
    client: TestClient, signed_in: TestClient, platform: Platform, clock: FrozenClock
) -> None:
    send_heartbeat(client, platform, report())
    assert signed_in.get("/api/cdn/edges").status_code == 403
    assert TestClient(client.app).get("/api/cdn/edges").status_code == 401
    with transaction(platform.sessions) as session:
        accounts.create_user(
            session, clock=clock, email="op@example.org", password=PASSWORD, role="operator"
        )
    console = TestClient(create_app(platform), follow_redirects=False)
    sign_in(console, "op@example.org")
    clock.advance(timedelta(seconds=31))  # three heartbeats missed
    (edge,) = console.get("/api/cdn/edges").json()["items"]
    assert edge["name"] == "paris-1" and edge["site"] == "paris"
    assert edge["base_url"] == "http://paris-1.example:8080"
    assert (edge["in_rotation"], edge["rotation_reason"]) == (False, "missed heartbeats")


def test_the_fill_plan_is_signed_and_opens_every_file_of_the_package(
    client: TestClient, platform: Platform, published: IngestResult
) -> None:
    send_heartbeat(client, platform, report())
    today = platform.clock.now().date()
    with transaction(platform.sessions) as session:
        catalog.record_play(session, title_id=published.title_id, territory="FR", day=today)
    target = "/api/cdn/sites/paris/fill-plan"
    assert client.get(target).status_code == 403
    assert (
        client.get(
            target, headers=signed(platform, "GET", "/api/cdn/sites/lyon/fill-plan")
        ).status_code
        == 403
    )
    response = client.get(target, headers=signed(platform, "GET", target))
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["site"] == "paris" and plan["window"]["timezone"] == "Europe/Paris"
    (item,) = plan["items"]
    assert item["title_id"] == published.title_id and item["edge"] == "paris-1"
    stored = platform.storage.list_prefix(f"titles/{published.title_id}")
    assert item["paths"] == ["/" + key for key in stored]
    assert any(path.endswith("/manifest.mpd") for path in item["paths"])
    infos = [platform.storage.stat(key) for key in stored]
    assert item["bytes"] == sum(info.size for info in infos if info is not None) > 0
    for path in item["paths"]:
        tokens.verify_token(
            item["token"], keys=edge_keys(platform), path=path, now=platform.clock.now().timestamp()
        )
    unknown = "/api/cdn/sites/lyon/fill-plan"
    assert client.get(unknown, headers=signed(platform, "GET", unknown)).status_code == 404


def test_the_cdn_operations_are_in_the_openapi_document(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    heartbeat = spec["paths"][HEARTBEAT]["post"]
    assert heartbeat["operationId"] == "cdn_heartbeat"
    body_schema = heartbeat["requestBody"]["content"]["application/json"]["schema"]
    assert "disk_capacity_bytes" in body_schema["properties"]
    assert spec["paths"]["/api/cdn/sites/{site}/fill-plan"]["get"]["operationId"] == "cdn_fill_plan"
    assert spec["paths"]["/api/cdn/edges"]["get"]["operationId"] == "list_cdn_edges"
