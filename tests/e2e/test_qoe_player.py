"""The player reports its QoE: startup, time played and CMCD, to the signed-in session."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page

from tests.cli.conftest import cineflux
from tests.e2e.conftest import EMAIL, RunningServer
from tests.e2e.test_watch import _sign_in_and_watch

pytestmark = pytest.mark.e2e


def test_player_reports_startup_play_time_and_cmcd(page: Page, server: RunningServer) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    media_queries: list[str] = []
    page.on("request", lambda r: media_queries.append(r.url) if "/t/" in r.url else None)
    _sign_in_and_watch(page, server, EMAIL)
    page.wait_for_function("() => document.getElementById('video').currentTime > 1", timeout=30_000)

    with page.expect_response("**/api/qoe/events") as answer:
        page.evaluate("() => window.cinefluxQoe.flush(true)")
    sent = json.loads(answer.value.request.post_data or "{}")
    # (Playwright cannot read the body of a keepalive response: the batch tells the story.)
    assert answer.value.status == 202, sent
    kinds = [event["kind"] for event in sent["events"]]
    assert kinds[0] == "startup" and {"played", "cmcd"} <= set(kinds)
    assert set(kinds) <= {"startup", "played", "cmcd", "bitrate"}  # no stall, no error
    assert sent["edge"] == "origin"  # no edge registered: the origin served
    assert sent["title_id"] == server.title_id
    # Segment requests carry CMCD query arguments with the same session and content ids.
    assert any("CMCD=" in url and sent["session_id"] in url for url in media_queries)

    report = cineflux(server.env, "qoe", "report", "--since", "1h", "--by", "title", "--json")
    assert report.returncode == 0, report.stderr
    # Other browser tests play the same title on the same database: this play is one of them.
    (group,) = [g for g in json.loads(report.stdout)["groups"] if g["key"] == server.title_id]
    assert group["sessions"] >= 1
    assert 0 < group["startup_ms"]["p50"] < 30_000
    assert errors == []
