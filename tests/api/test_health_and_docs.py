"""Health probes, OpenAPI, problem details and security headers."""

from __future__ import annotations

import logging

import pytest
import redis
from fastapi.testclient import TestClient

from cineflux.app import create_app
from cineflux.platform import Platform
from tests.conftest import REDIS_URL


def test_healthz_answers(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_the_database_schema(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok"}


def test_readyz_reports_an_unreachable_redis(client: TestClient, platform: Platform) -> None:
    platform.settings.redis_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("error:")


@pytest.mark.skipif(not REDIS_URL, reason="CINEFLUX_TEST_REDIS_URL not set (CI sets it)")
def test_readyz_pings_a_real_redis(client: TestClient, platform: Platform) -> None:
    assert REDIS_URL
    redis.Redis.from_url(REDIS_URL).ping()
    platform.settings.redis_url = REDIS_URL
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_openapi_is_served_with_the_api_routes(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert spec["info"]["title"] == "Cineflux"
    assert {"/api/titles", "/api/titles/{title_id}", "/api/me", "/healthz"} <= set(spec["paths"])
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_errors_are_rfc9457_problem_json(client: TestClient) -> None:
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and body["title"] == "Not Found"
    assert body["instance"] == "/api/no-such-thing"


def test_validation_errors_are_problems_too(signed_in: TestClient) -> None:
    response = signed_in.get("/api/titles?limit=0")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"] == ["query", "limit"]


def test_pages_carry_security_headers(client: TestClient) -> None:
    response = client.get("/login")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_each_response_has_a_request_id(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert len(first) == 16 and first != second


def test_the_request_log_has_one_line_per_request_with_its_id_status_and_duration(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cineflux.http"):
        response = client.get("/no-such-page")
    lines = [r for r in caplog.records if r.name == "cineflux.http"]
    assert len(lines) == 1
    assert lines[0].getMessage() == "GET /no-such-page 404"
    assert lines[0].__dict__["request_id"] == response.headers["x-request-id"]
    assert lines[0].__dict__["status"] == 404 and lines[0].__dict__["duration_ms"] >= 0


def test_a_request_that_crashes_is_logged_as_a_500(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(platform)

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("boom")

    with (
        TestClient(app, raise_server_exceptions=False) as client,
        caplog.at_level(logging.INFO, logger="cineflux.http"),
    ):
        response = client.get("/crash")
    assert response.status_code == 500
    assert [r.getMessage() for r in caplog.records if r.name == "cineflux.http"] == [
        "GET /crash 500"
    ]


def test_the_api_docs_page_has_no_content_security_policy_but_the_other_headers(
    client: TestClient,
) -> None:
    response = client.get("/api/docs")
    assert "content-security-policy" not in response.headers
    assert response.headers["x-frame-options"] == "DENY"
