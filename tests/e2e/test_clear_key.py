"""An encrypted title (CENC, the product default) plays in Chromium with Clear Key: over
DASH Shaka gets the licence URL from the play and the keys from the licence endpoint, over
HLS the keys from the play's key route ("identity" key delivery)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request

from cineflux.config import Settings
from cineflux.media.flows import ingest_into
from cineflux.platform import build_platform
from tests.e2e.conftest import EMAIL, PASSWORD, RunningServer
from tests.factories import license_in_france

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def encrypted_title(server: RunningServer, small_film: Path) -> str:
    """A title ingested encrypted into the running server's database and media."""
    env = server.env
    settings = Settings(
        data_dir=Path(env["CINEFLUX_DATA_DIR"]),
        database_url=env["CINEFLUX_DATABASE_URL"],
        chunk_seconds=4,
        per_title_ladder=False,
    )
    assert settings.encrypt_media  # the product default
    platform = build_platform(settings, migrate=False)
    try:
        result = ingest_into(platform, small_film, name="Chiffré", year=2024)
        license_in_france(platform, result.title_id)
    finally:
        platform.engine.dispose()
    return result.title_id


def _sign_in_and_play_past_three_seconds(
    page: Page, server: RunningServer, watch_path: str
) -> None:
    page.goto(server.base_url + "/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.base_url + "/")
    page.goto(server.base_url + watch_path)
    # Played, not merely positioned: the second test resumes where the first one stopped
    # (the same profile and title), and the player starts there.
    page.wait_for_function(
        "() => { const p = document.getElementById('video').played; let s = 0;"
        " for (let i = 0; i < p.length; i++) s += p.end(i) - p.start(i); return s > 3; }",
        timeout=30_000,
    )


def test_an_encrypted_title_plays_with_keys_from_the_clear_key_licence_endpoint(
    page: Page, server: RunningServer, encrypted_title: str
) -> None:
    licences: list[Request] = []
    page.on("request", lambda r: licences.append(r) if r.url.endswith("/license") else None)
    _sign_in_and_play_past_three_seconds(page, server, f"/titles/{encrypted_title}/watch")

    assert "Playing (DASH)" in (page.text_content("#player-status") or "")
    drm = page.evaluate("() => window.cinefluxPlayer.drmInfo()")
    assert drm is not None and drm["keySystem"] == "org.w3.clearkey"
    assert drm["encryptionScheme"] == "cenc"
    # One licence request reached the server: the player's, asked with the play's answer
    # for every key; the CDM's own requests (one per key session) were answered from it.
    assert len(licences) == 1 and licences[0].url.startswith(server.base_url + "/api/playback/")
    asked = json.loads(licences[0].post_data or "{}")
    assert len(asked["kids"]) == 2 and asked["type"] == "temporary"
    answer = licences[0].response()
    assert answer is not None and answer.status == 200
    assert {key["kty"] for key in answer.json()["keys"]} == {"oct"}
    statuses = page.evaluate("() => window.cinefluxPlayer.getKeyStatuses()")
    assert len(statuses) == 2 and set(statuses.values()) == {"usable"}


def test_an_encrypted_title_plays_over_hls_with_keys_from_the_plays_key_route(
    page: Page, server: RunningServer, encrypted_title: str
) -> None:
    # Shaka turns the fetched keys into a data: licence of its own: it stalled for ever when
    # the player sent that licence to the licence URL, or let CMCD append its query to it.
    key_requests: list[Request] = []
    page.on("request", lambda r: key_requests.append(r) if "/keys/" in r.url else None)
    _sign_in_and_play_past_three_seconds(
        page, server, f"/titles/{encrypted_title}/watch?format=hls"
    )

    assert "Playing (HLS)" in (page.text_content("#player-status") or "")
    drm = page.evaluate("() => window.cinefluxPlayer.drmInfo()")
    assert drm is not None and drm["keySystem"] == "org.w3.clearkey"
    assert drm["encryptionScheme"] == "cenc"
    session = page.evaluate("() => document.getElementById('video').dataset.session")
    key_route = f"{server.base_url}/api/playback/{session}/keys/"
    delivered: set[str] = set()
    for request in key_requests:
        assert request.url.startswith(key_route), f"a key asked elsewhere: {request.url}"
        answer = request.response()
        assert answer is not None and answer.status == 200
        delivered.add(request.url.removeprefix(key_route))
    statuses = page.evaluate("() => window.cinefluxPlayer.getKeyStatuses()")
    assert statuses == {kid: "usable" for kid in delivered}
    assert len(delivered) == 2  # the video's key and the audio's
