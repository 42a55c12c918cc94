"""Clear Key licences over HTTP: only an active play of the caller's account gets its
title's keys; the play's answer says where to ask and refuses devices without Clear Key."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cineflux.db import transaction
from cineflux.platform import Platform
from cineflux.protection.cenc import b64url
from cineflux.protection.keystore import TitleKey, key_store
from tests.api.conftest import PASSWORD, sign_in
from tests.playback_helpers import Subscriber, playable_film, subscriber

DEVICE = {"codecs": ["avc1.64001e", "mp4a.40.2"], "max_height": 1080, "drm": ["clearkey"]}


@pytest.fixture
def viewer(platform: Platform) -> Subscriber:
    with transaction(platform.sessions) as session:
        return subscriber(session, platform.clock, platform.settings, password=PASSWORD)


def _encrypted_film(platform: Platform, name: str) -> tuple[str, dict[str, TitleKey]]:
    with transaction(platform.sessions) as session:
        film = playable_film(session, platform.clock, platform.settings, name)
        keys = key_store(platform.settings).create_title_keys(
            session, title_id=film.id, now=platform.clock.now()
        )
        return film.id, keys


@pytest.fixture
def film(platform: Platform) -> tuple[str, dict[str, TitleKey]]:
    return _encrypted_film(platform, "Chiffré")


def start(client: TestClient, viewer: Subscriber, title_id: str) -> dict[str, Any]:
    body = {"title_id": title_id, "profile_id": viewer.profile_id, "device": DEVICE}
    response = client.post("/api/playback", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def ask(client: TestClient, url: str, *kids: str) -> Any:
    body = {"kids": [b64url(bytes.fromhex(kid)) for kid in kids], "type": "temporary"}
    return client.post(url, content=json.dumps(body))


def test_an_active_play_gets_the_jwk_set_of_its_titles_keys(
    client: TestClient, viewer: Subscriber, film: tuple[str, dict[str, TitleKey]]
) -> None:
    film_id, keys = film
    sign_in(client, viewer.email)
    play = start(client, viewer, film_id)
    licence = play["licence"]
    assert licence["key_system"] == "org.w3.clearkey"
    assert licence["url"] == f"/api/playback/{play['session_id']}/license"
    assert sorted(licence["key_ids"]) == sorted(k.kid for k in keys.values())
    response = ask(client, licence["url"], keys["video"].kid, keys["audio"].kid)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    jwks = {k["kid"]: k for k in response.json()["keys"]}
    for key in keys.values():
        assert jwks[b64url(bytes.fromhex(key.kid))] == {
            "kty": "oct",
            "kid": b64url(bytes.fromhex(key.kid)),
            "k": b64url(key.key),
        }
    assert response.json()["type"] == "temporary"
    # HLS "identity" delivery: the raw key, by the same rules.
    raw = client.get(f"/api/playback/{play['session_id']}/keys/{keys['audio'].kid}")
    assert raw.status_code == 200 and raw.content == keys["audio"].key
    assert raw.headers["cache-control"] == "no-store"


def test_licences_are_refused_outside_an_active_play_of_the_account(
    client: TestClient,
    platform: Platform,
    viewer: Subscriber,
    film: tuple[str, dict[str, TitleKey]],
) -> None:
    film_id, keys = film
    other_id, other_keys = _encrypted_film(platform, "Autre")
    kid = keys["video"].kid
    sign_in(client, viewer.email)
    play = start(client, viewer, film_id)
    url = play["licence"]["url"]

    anonymous = TestClient(client.app)
    assert ask(anonymous, url, kid).status_code == 401
    with transaction(platform.sessions) as session:
        stranger = subscriber(
            session, platform.clock, platform.settings, "other@example.org", password=PASSWORD
        )
    other_client = TestClient(client.app, follow_redirects=False)
    sign_in(other_client, stranger.email)
    assert ask(other_client, url, kid).status_code == 404  # another account's play
    assert ask(client, "/api/playback/no-such-play/license", kid).status_code == 404

    refused = ask(client, url, other_keys["video"].kid)  # another title's key
    assert refused.status_code == 403 and refused.json()["title"] == "Licence refused"
    assert ask(client, url, kid, other_keys["audio"].kid).status_code == 403
    assert ask(client, url, "00" * 16).status_code == 403
    session_id = play["session_id"]
    assert (
        client.get(f"/api/playback/{session_id}/keys/{other_keys['video'].kid}").status_code == 403
    )
    assert anonymous.get(f"/api/playback/{session_id}/keys/{kid}").status_code == 401
    assert other_client.get(f"/api/playback/{session_id}/keys/{kid}").status_code == 404
    assert client.post(url, content=b"{not json").status_code == 400
    assert client.post(f"{url}/com.widevine.alpha", content=b"x").status_code == 404

    platform.clock.advance(timedelta(seconds=91))  # type: ignore[attr-defined]
    lapsed = ask(client, url, kid)
    assert lapsed.status_code == 410 and lapsed.json()["title"] == "Playback ended"
    assert client.get(f"/api/playback/{session_id}/keys/{kid}").status_code == 410

    again = start(client, viewer, film_id)
    assert ask(client, again["licence"]["url"], kid).status_code == 200
    assert client.delete(f"/api/playback/{again['session_id']}").status_code == 204
    assert ask(client, again["licence"]["url"], kid).status_code == 410
    assert other_id != film_id


def test_a_device_without_clear_key_is_refused_an_encrypted_title_but_plays_clear_ones(
    client: TestClient,
    platform: Platform,
    viewer: Subscriber,
    film: tuple[str, dict[str, TitleKey]],
) -> None:
    film_id, _keys = film
    with transaction(platform.sessions) as session:
        clear_id = playable_film(session, platform.clock, platform.settings, "En clair").id
    sign_in(client, viewer.email)
    device = {**DEVICE, "drm": []}
    body = {"title_id": film_id, "profile_id": viewer.profile_id, "device": device}
    refused = client.post("/api/playback", json=body)
    assert refused.status_code == 422
    assert refused.json()["title"] == "Device cannot play this title"
    assert "encrypted" in refused.json()["detail"]
    assert client.get("/api/playback").json() == []  # the refusal took no stream
    clear = client.post("/api/playback", json={**body, "title_id": clear_id})
    assert clear.status_code == 201 and clear.json()["licence"] is None
    assert (
        ask(client, f"/api/playback/{clear.json()['session_id']}/license", "00" * 16).status_code
        == 403
    )


def test_a_licence_is_answered_while_another_request_holds_the_write_lock(
    client: TestClient,
    platform: Platform,
    viewer: Subscriber,
    film: tuple[str, dict[str, TitleKey]],
) -> None:
    if platform.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's database-wide write lock; PostgreSQL locks rows")
    film_id, keys = film
    sign_in(client, viewer.email)
    play = start(client, viewer, film_id)
    answers: list[int] = []
    asking = threading.Thread(
        target=lambda: answers.append(
            ask(client, play["licence"]["url"], keys["video"].kid).status_code
        )
    )
    writer = platform.engine.raw_connection()
    try:
        # Another unit of work holds the write lock (a writing request, a task).
        writer.driver_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
        asking.start()
        asking.join(timeout=10)  # queued behind the lock, it would wait 30 s
        answered = not asking.is_alive()
    finally:
        writer.driver_connection.execute("ROLLBACK")  # type: ignore[union-attr]
        writer.close()
    asking.join()
    assert answered and answers == [200]
