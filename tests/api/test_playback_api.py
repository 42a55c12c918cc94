"""The playback API over HTTP: start, heartbeat, stop, list, and its problems."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cineflux.billing import service as billing
from cineflux.catalog import service as catalog
from cineflux.db import transaction
from cineflux.delivery.service import edge_keys_spec
from cineflux.edge import tokens
from cineflux.media import service as media
from cineflux.platform import Platform
from cineflux.profiles import service as profiles
from cineflux.rights import service as rights
from tests.api.conftest import PASSWORD, sign_in
from tests.factories import grant
from tests.playback_helpers import Subscriber, playable_film, subscriber

DEVICE = {"codecs": ["avc1.64001e", "mp4a.40.2"], "max_height": 1080, "drm": ["clearkey"]}


@pytest.fixture
def viewer(platform: Platform) -> Subscriber:
    with transaction(platform.sessions) as session:
        return subscriber(
            session, platform.clock, platform.settings, plan="standard", password=PASSWORD
        )


@pytest.fixture
def film_id(platform: Platform) -> str:
    with transaction(platform.sessions) as session:
        return playable_film(session, platform.clock, platform.settings).id


def start(client: TestClient, viewer: Subscriber, film_id: str, **extra: object) -> dict[str, Any]:
    body = {"title_id": film_id, "profile_id": viewer.profile_id, "device": DEVICE, **extra}
    response = client.post("/api/playback", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_play_is_started_renewed_by_heartbeats_and_stopped(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    sign_in(client, viewer.email)
    play = start(client, viewer, film_id)
    session_id = play["session_id"]
    assert play["base_urls"] == ["http://testserver"]
    assert play["manifests"]["dash"] == f"/api/playback/{session_id}/manifest.mpd"
    assert play["heartbeat_interval_seconds"] == 30
    assert play["session_timeout_seconds"] == 90
    assert [t["language"] for t in play["audio_tracks"]] == ["fr", "en"]
    assert play["video_heights"] == [234, 360]
    assert play["resume_position_seconds"] == 0
    assert [p["session_id"] for p in client.get("/api/playback").json()] == [session_id]

    platform.clock.advance(timedelta(seconds=30))  # type: ignore[attr-defined]
    beat = client.post(f"/api/playback/{session_id}/heartbeat", json={"position_seconds": 42.5})
    assert beat.status_code == 200
    assert beat.json()["token"] != play["token"]
    assert beat.json()["manifests"]["hls"] == f"/api/playback/{session_id}/master.m3u8"
    history = client.get(f"/api/profiles/{viewer.profile_id}/history").json()
    assert [(e["title_id"], e["position_seconds"]) for e in history] == [(film_id, 42.5)]

    assert client.delete(f"/api/playback/{session_id}?position_seconds=50").status_code == 204
    assert client.get("/api/playback").json() == []
    ended = client.post(f"/api/playback/{session_id}/heartbeat", json={"position_seconds": 51})
    assert ended.status_code == 410
    assert ended.headers["content-type"] == "application/problem+json"
    assert ended.json()["title"] == "Playback ended"
    assert start(client, viewer, film_id)["resume_position_seconds"] == 50


def test_the_answers_token_opens_the_package_at_the_origin_and_no_other_title(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    sign_in(client, viewer.email)
    play = start(client, viewer, film_id)
    claims = tokens.verify_token(
        play["token"],
        keys=tokens.parse_keys(edge_keys_spec(platform.settings, platform.signing_key)),
        path=f"/titles/{film_id}/video/seg-00001.m4s",
        now=platform.clock.now().timestamp(),
    )
    assert claims.session_id == play["session_id"]
    anonymous = TestClient(client.app)
    # No file was stored for this package: the route answers 404 for it, 403 for another.
    assert anonymous.get(f"/t/{play['token']}/titles/{film_id}/manifest.mpd").status_code == 404
    other = f"/t/{play['token']}/titles/someone-else/manifest.mpd"
    assert anonymous.get(other).status_code == 403


def test_a_third_screen_on_a_two_stream_plan_gets_a_clear_problem(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    sign_in(client, viewer.email)
    start(client, viewer, film_id)
    start(client, viewer, film_id)
    body = {"title_id": film_id, "profile_id": viewer.profile_id, "device": DEVICE}
    refused = client.post("/api/playback", json=body)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["title"] == "Too many streams"
    assert "2 streams at once" in refused.json()["detail"]


def test_a_change_to_the_title_is_seen_by_the_very_next_play(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    """Plays keep what they read of a title (readcache): a withdrawn window, a stricter
    rating or a withdrawn package must still refuse the next play at once."""
    sign_in(client, viewer.email)
    body = {"title_id": film_id, "profile_id": viewer.profile_id, "device": DEVICE}
    stop = client.delete(f"/api/playback/{start(client, viewer, film_id)['session_id']}")
    assert stop.status_code == 204
    with transaction(platform.sessions) as session:
        for window in rights.windows_of(session, [film_id]):
            rights.remove_window(session, window)
    refused = client.post("/api/playback", json=body)
    assert (refused.status_code, refused.json()["title"]) == (403, "Not available here")

    with transaction(platform.sessions) as session:
        grant(session, platform.clock, catalog.get_title(session, film_id))
    client.delete(f"/api/playback/{start(client, viewer, film_id)['session_id']}")
    with transaction(platform.sessions) as session:
        catalog.get_title(session, film_id).age_rating = "18"
    with transaction(platform.sessions) as session:
        profiles.get_profile(
            session, user_id=viewer.user_id, profile_id=viewer.profile_id
        ).max_rating = "16"
    refused = client.post("/api/playback", json=body)
    assert (refused.status_code, refused.json()["title"]) == (403, "Not for this profile")

    with transaction(platform.sessions) as session:
        catalog.get_title(session, film_id).age_rating = "TP"
        package = media.package_for_title(session, film_id)
        assert package is not None
        session.delete(package)
    refused = client.post("/api/playback", json=body)
    assert (refused.status_code, refused.json()["title"]) == (404, "Not playable")
    assert "no published media" in refused.json()["detail"]


def test_an_account_without_subscription_is_told_to_subscribe(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    with transaction(platform.sessions) as session:
        subscription = billing.live_subscription(session, user_id=viewer.user_id)
        assert subscription is not None
        subscription.state = "past_due"
        subscription.past_due_since = platform.clock.now() - timedelta(days=20)
    sign_in(client, viewer.email)
    body = {"title_id": film_id, "profile_id": viewer.profile_id, "device": DEVICE}
    refused = client.post("/api/playback", json=body)
    assert refused.status_code == 403
    assert refused.json()["title"] == "Payment overdue"


def test_a_pin_profile_chosen_with_its_pin_plays_without_asking_again(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    with transaction(platform.sessions) as session:
        profiles.set_pin(session, user_id=viewer.user_id, profile_id=viewer.profile_id, pin="2468")
    sign_in(client, viewer.email)
    body = {"title_id": film_id, "profile_id": viewer.profile_id, "device": DEVICE}
    asked = client.post("/api/playback", json=body)
    assert asked.status_code == 403 and asked.json()["title"] == "Profile PIN required"
    chosen = client.post(f"/api/profiles/{viewer.profile_id}/select", json={"pin": "2468"})
    assert chosen.status_code == 200
    assert client.post("/api/playback", json=body).status_code == 201


def test_requests_that_do_not_match_are_refused(
    client: TestClient, platform: Platform, viewer: Subscriber, film_id: str
) -> None:
    body = {"title_id": film_id, "profile_id": viewer.profile_id, "device": DEVICE}
    assert client.post("/api/playback", json=body).status_code == 401
    sign_in(client, viewer.email)
    # A cross-site form can only send form or text bodies: they are not JSON, so refused.
    as_text = client.post(
        "/api/playback", content=json.dumps(body), headers={"content-type": "text/plain"}
    )
    assert as_text.status_code == 422
    no_codec = client.post("/api/playback", json={**body, "device": {"codecs": []}})
    assert no_codec.status_code == 422
    assert client.delete("/api/playback/not%20an%20id").status_code == 422
    assert client.delete("/api/playback/unknown").status_code == 404
    unknown_title = client.post("/api/playback", json={**body, "title_id": "nope"})
    assert unknown_title.status_code == 404 and unknown_title.json()["title"] == "Title not found"
