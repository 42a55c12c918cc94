""" "Continue watching" and the next episode over HTTP: the API, the home page, the player."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cineflux.catalog import service as catalog
from cineflux.catalog.models import Title
from cineflux.db import transaction
from cineflux.platform import Platform
from cineflux.rights import service as rights
from tests.api.conftest import PASSWORD, page_csrf, sign_in
from tests.factories import grant, make_title
from tests.playback_helpers import Subscriber, packaged, playable_film, subscriber

DEVICE = {"codecs": ["avc1.64001e", "mp4a.40.2"], "max_height": 1080}


@pytest.fixture
def viewer(platform: Platform, client: TestClient) -> Subscriber:
    with transaction(platform.sessions) as session:
        found = subscriber(session, platform.clock, platform.settings, password=PASSWORD)
    sign_in(client, found.email)
    return found


@pytest.fixture
def episodes(platform: Platform) -> list[str]:
    """A licensed series of two packaged episodes; the second's credits start at 550 s."""
    with transaction(platform.sessions) as session:
        clock = platform.clock
        series = make_title(session, clock, "Série", kind="series")
        season = make_title(session, clock, "S1", kind="season", parent_id=series.id, number=1)
        made: list[Title] = []
        for number in (1, 2):
            episode = make_title(
                session, clock, f"Épisode {number}", kind="episode", parent_id=season.id,
                number=number,
            )  # fmt: skip
            packaged(session, episode)
            made.append(episode)
        catalog.set_credits_start(session, made[1].id, 550.0)
        grant(
            session,
            clock,
            series,
            policy=rights.rights_policy(session, platform.settings.platform_profile),
        )
        return [e.id for e in made]


def watch(
    client: TestClient, platform: Platform, viewer: Subscriber, title_id: str, to: float
) -> dict[str, Any]:
    """Play a title to ``to`` seconds, then stop; answers the start of the play."""
    body = {"title_id": title_id, "profile_id": viewer.profile_id, "device": DEVICE}
    started = client.post("/api/playback", json=body)
    assert started.status_code == 201, started.text
    session_id = started.json()["session_id"]
    platform.clock.advance(timedelta(seconds=30))  # type: ignore[attr-defined]
    beat = client.post(f"/api/playback/{session_id}/heartbeat", json={"position_seconds": to})
    assert beat.status_code == 200
    assert client.delete(f"/api/playback/{session_id}").status_code == 204
    return started.json()


def test_a_play_of_an_episode_names_the_next_one(
    client: TestClient, platform: Platform, viewer: Subscriber, episodes: list[str]
) -> None:
    first = watch(client, platform, viewer, episodes[0], 100.0)
    assert first["next_episode"] == {
        "title_id": episodes[1], "name": "Épisode 2", "season": 1, "number": 2,
        "offer_at_seconds": 580.0,
    }  # fmt: skip
    second = watch(client, platform, viewer, episodes[1], 10.0)
    assert second["credits_start_seconds"] == 550.0 and second["next_episode"] is None


def test_the_row_resumes_films_brings_next_episodes_and_items_can_be_removed(
    client: TestClient, platform: Platform, viewer: Subscriber, episodes: list[str]
) -> None:
    with transaction(platform.sessions) as session:
        film_id = playable_film(session, platform.clock, platform.settings, "Film").id
    watch(client, platform, viewer, film_id, 300.0)
    watch(client, platform, viewer, episodes[0], 590.0)  # finished: the next one is up
    items = client.get("/api/continue-watching").json()
    assert [(i["title_id"], i["up_next"]) for i in items] == [(episodes[1], True), (film_id, False)]
    assert items[1]["progress"] == 0.5 and items[1]["poster"].endswith("/poster.jpg")
    assert (items[0]["name"], items[0]["season"], items[0]["number"]) == ("Série", 1, 2)

    home = client.get("/").text
    section = home.split('data-row="continue_watching"')[1].split("</section>")[0]
    rows = re.findall(r'data-row="([^"]+)"', home)
    assert rows[0] == "continue_watching" and "movies" in rows
    assert re.findall(r'href="/titles/([^/"]+)/watch"', section) == [episodes[1], film_id]
    assert '<progress max="1" value="0.500"' in section
    # The film resumes where the profile stopped.
    resumed = client.post(
        "/api/playback",
        json={"title_id": film_id, "profile_id": viewer.profile_id, "device": DEVICE},
    ).json()
    assert resumed["resume_position_seconds"] == 300.0
    client.delete(f"/api/playback/{resumed['session_id']}")

    # Past the credits the episode counts as watched: the series leaves the row.
    watch(client, platform, viewer, episodes[1], 551.0)
    assert [i["title_id"] for i in client.get("/api/continue-watching").json()] == [film_id]
    removed = client.post(f"/continue-watching/{film_id}/remove", data={"csrf": page_csrf(client)})
    assert removed.status_code == 303
    assert client.get("/api/continue-watching").json() == []
    assert 'data-row="continue_watching"' not in client.get("/").text


def test_removing_needs_the_pages_csrf_token_and_the_api_removes_a_series(
    client: TestClient, platform: Platform, viewer: Subscriber, episodes: list[str]
) -> None:
    watch(client, platform, viewer, episodes[0], 200.0)
    refused = client.post(f"/continue-watching/{episodes[0]}/remove", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert len(client.get("/api/continue-watching").json()) == 1
    assert client.delete(f"/api/continue-watching/{episodes[1]}").status_code == 204
    assert client.get("/api/continue-watching").json() == []


def test_the_watch_page_of_an_episode_offers_the_next_one_and_a_films_does_not(
    client: TestClient, platform: Platform, viewer: Subscriber, episodes: list[str]
) -> None:
    page = client.get(f"/titles/{episodes[0]}/watch").text
    assert 'id="next-episode"' in page and 'data-offer-at="580.0"' in page
    assert f'href="/titles/{episodes[1]}/watch"' in page
    assert 'src="/static/next_episode.js?v=' in page
    assert 'id="next-episode"' not in client.get(f"/titles/{episodes[1]}/watch").text
