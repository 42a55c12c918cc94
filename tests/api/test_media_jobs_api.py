"""The operator's view of encoding jobs; subscribers are refused."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cineflux.accounts import service as accounts
from cineflux.db import transaction
from cineflux.media.flows import IngestResult
from cineflux.platform import Platform
from tests.api.conftest import PASSWORD, sign_in


def _operator(platform: Platform) -> None:
    with transaction(platform.sessions) as session:
        accounts.create_user(
            session, clock=platform.clock, email="op@example.org", password=PASSWORD,
            role="operator",
        )  # fmt: skip


def test_operator_sees_job_progress(
    client: TestClient, platform: Platform, published: IngestResult
) -> None:
    _operator(platform)
    sign_in(client, "op@example.org")
    jobs = client.get("/api/media/jobs").json()
    assert [j["id"] for j in jobs] == [published.job_id]
    job = client.get(f"/api/media/jobs/{published.job_id}").json()
    assert (job["state"], job["progress"], job["playable"]) == ("succeeded", 1.0, True)
    assert job["tasks_done"] == job["tasks_total"] > 0
    missing = client.get("/api/media/jobs/nope")
    assert missing.status_code == 404
    assert missing.json()["title"] == "Encoding job not found"


def test_subscribers_cannot_see_jobs(signed_in: TestClient, published: IngestResult) -> None:
    response = signed_in.get(f"/api/media/jobs/{published.job_id}")
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert signed_in.get("/api/media/jobs").status_code == 403


def test_anonymous_callers_get_401(client: TestClient) -> None:
    assert client.get("/api/media/jobs").status_code == 401
