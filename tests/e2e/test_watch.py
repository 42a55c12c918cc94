"""A subscriber signs in, opens a title and watches it in Chromium with Shaka Player."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from cineflux.accounts import service as accounts
from cineflux.catalog import service as catalog
from cineflux.config import Settings
from cineflux.db import transaction
from cineflux.media.flows import ingest_into
from cineflux.platform import build_platform
from cineflux.profiles import service as profiles
from cineflux.rights import service as rights
from tests.e2e.conftest import (
    E2E_PLAN,
    EMAIL,
    ONE_SCREEN_EMAIL,
    PASSWORD,
    RunningServer,
    bilingual_film,
    subscribe,
)
from tests.factories import grant, make_title
from tests.playback_helpers import packaged

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("stream", ["DASH", "HLS"])
def test_subscriber_signs_in_and_watches_a_film(
    page: Page, server: RunningServer, stream: str
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(server.base_url + "/")
    assert page.url.startswith(server.base_url + "/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.base_url + "/")

    # From the films row: once watched, the title also leads the "Continue watching" row.
    page.click(f"section[data-row=movies] >> text={server.title_name}")
    page.wait_for_url(f"**/titles/{server.title_id}")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.click("text=Play (HLS)" if stream == "HLS" else "a.play")
    page.wait_for_selector("video#video")

    page.wait_for_function("() => document.getElementById('video').currentTime > 2", timeout=30_000)
    status = page.text_content("#player-status") or ""
    assert f"Playing ({stream})" in status
    # The play's personalised manifest, carried by the play's answer: no request for it.
    manifest = page.evaluate("() => window.cinefluxPlayback.manifest.body")
    assert re.search(rf"/t/[^/]+/titles/{server.title_id}/", manifest)
    assert page.evaluate("() => window.cinefluxPlayer.getAssetUri()").startswith("cineflux-")
    assert not [url for url in requested if re.search(r"/manifest\.mpd|/master\.m3u8", url)]
    active_language = "window.cinefluxPlayer.getAudioTracks().find(t => t.active).language"
    assert page.evaluate(f"() => {active_language}") == "fr"

    # Switch the audio to English from the menu.
    page.select_option("#audio-language", label="English")
    page.wait_for_function(f"() => {active_language} === 'en'", timeout=10_000)

    # Turn French subtitles on: its cue shows while the film plays.
    page.select_option("#subtitles", label="Français")
    page.wait_for_function(
        """() => [...document.getElementById('video').textTracks].some(track =>
               track.mode === 'showing' && track.activeCues &&
               [...track.activeCues].some(cue => cue.text.includes('Bonjour')))""",
        timeout=15_000,
    )
    assert errors == []


def test_subscriber_finds_a_film_from_the_home_rows_and_by_searching(
    page: Page, server: RunningServer
) -> None:
    page.goto(server.base_url + "/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.base_url + "/")

    films = page.locator("section[data-row=movies]")
    assert films.locator("h2").text_content() == "Films"
    assert server.title_name in (films.text_content() or "")

    # A French viewer types without accents or capitals, and only the start of a word.
    page.fill("input[type=search]", "ESSAI de lec")
    page.press("input[type=search]", "Enter")
    page.wait_for_url("**/search?q=**")
    page.click(f".results >> text={server.title_name}")
    page.wait_for_url(f"**/titles/{server.title_id}")
    assert page.locator("a.play").is_visible()


def _sign_in(page: Page, server: RunningServer, email: str) -> None:
    page.goto(server.base_url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.base_url + "/")


def _sign_in_and_watch(page: Page, server: RunningServer, email: str) -> None:
    _sign_in(page, server, email)
    page.goto(f"{server.base_url}/titles/{server.title_id}/watch")


def test_a_second_screen_on_a_one_stream_plan_is_told_why_until_the_first_stops(
    browser: Browser, server: RunningServer
) -> None:
    first, second = browser.new_context().new_page(), browser.new_context().new_page()
    errors: list[str] = []
    second.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in_and_watch(first, server, ONE_SCREEN_EMAIL)
    first.wait_for_function("() => document.getElementById('video').currentTime > 1")

    _sign_in_and_watch(second, server, ONE_SCREEN_EMAIL)
    second.wait_for_selector("#playback-refused", state="visible")
    assert second.text_content("#playback-refused h2") == "Too many streams"
    assert "1 stream at once" in (second.text_content("#playback-refused p") or "")
    assert second.is_hidden("video#video")

    # Leaving the first page stops its play: the second screen may play at once.
    first.close()
    second.reload()
    second.wait_for_function(
        "() => document.getElementById('video').currentTime > 1", timeout=30_000
    )
    assert second.is_hidden("#playback-refused")
    assert errors == []
    second.context.close()


@pytest.fixture
def episodes(server: RunningServer, ffmpeg: str, tmp_path: Path) -> tuple[str, str]:
    """A licensed series in the running server: its first episode ingested, credits at 3 s;
    its second one packaged in rows only (the test only opens its page)."""
    source, _subtitles = bilingual_film(ffmpeg, tmp_path)
    settings = Settings(
        data_dir=Path(server.env["CINEFLUX_DATA_DIR"]),
        database_url=server.env["CINEFLUX_DATABASE_URL"],
        chunk_seconds=4,
        per_title_ladder=False,
    )
    platform = build_platform(settings)
    try:
        first_id = ingest_into(platform, source, name="Épisode 1", year=2024).title_id
        with transaction(platform.sessions) as session:
            clock = platform.clock
            series = make_title(session, clock, "Série de test", kind="series")
            season = make_title(
                session, clock, "Saison 1", kind="season", parent_id=series.id, number=1
            )
            first = catalog.get_title(session, first_id)
            first.kind, first.parent_id, first.number = "episode", season.id, 1
            catalog.set_credits_start(session, first_id, 3.0)
            second = make_title(
                session, clock, "Épisode 2", kind="episode", parent_id=season.id, number=2
            )
            packaged(session, second)
            policy = rights.rights_policy(session, settings.platform_profile)
            grant(session, clock, series, policy=policy)
            return first_id, second.id
    finally:
        platform.engine.dispose()


def test_an_episode_offers_the_next_one_at_its_credits_and_the_home_page_resumes_it(
    page: Page, server: RunningServer, episodes: tuple[str, str]
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    first, second = episodes
    _sign_in(page, server, EMAIL)

    page.goto(f"{server.base_url}/titles/{first}/watch")
    assert page.is_hidden("#next-episode")
    # From the credits (3 s) the offer shows and takes the focus: a remote's OK plays it.
    page.wait_for_selector("#next-episode a:focus", timeout=30_000)
    assert page.evaluate("() => document.getElementById('video').currentTime") >= 3
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/titles/{second}/watch")

    # Back home, the next episode comes first, a focusable link that plays it. The first
    # episode's position is saved by the request its page sent while going away: it may
    # still be on its way, so the home page is asked again for a few seconds at most.
    for _attempt in range(20):
        page.goto(server.base_url + "/")
        if page.locator("section[data-row=continue_watching]").count():
            break
        page.wait_for_timeout(250)
    row = page.locator("section[data-row]").first
    assert row.get_attribute("data-row") == "continue_watching"
    link = row.locator(f"a[href='/titles/{second}/watch']")
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/titles/{second}/watch")
    assert errors == []


def test_a_dash_play_starts_where_the_profile_stopped_and_fetches_nothing_before(
    page: Page, server: RunningServer
) -> None:
    # Loaded from the resume position: the segments fetched are those around it, not
    # the film's first one followed by a seek.
    email = "resumes@example.org"
    env = server.env
    settings = Settings(
        data_dir=Path(env["CINEFLUX_DATA_DIR"]), database_url=env["CINEFLUX_DATABASE_URL"]
    )
    platform = build_platform(settings, migrate=False)
    try:
        with transaction(platform.sessions) as session:
            subscribe(session, platform, email, plan=E2E_PLAN)
            user = accounts.find_user_by_email(session, email)
            assert user is not None
            profile = profiles.ensure_first_profile(
                session, clock=platform.clock, user_id=user.id, name="Resumes"
            )
            profiles.record_progress(
                session,
                clock=platform.clock,
                user_id=user.id,
                profile_id=profile.id,
                title_id=server.title_id,
                position_seconds=10.0,
                duration_seconds=20.0,
            )
    finally:
        platform.engine.dispose()
    segments: list[str] = []
    page.on("request", lambda r: segments.append(r.url) if "/seg-" in r.url else None)
    _sign_in(page, server, email)

    page.goto(f"{server.base_url}/titles/{server.title_id}/watch")
    page.wait_for_function(
        "() => { const p = document.getElementById('video').played; let s = 0;"
        " for (let i = 0; i < p.length; i++) s += p.end(i) - p.start(i); return s > 1; }",
        timeout=30_000,
    )

    assert "Playing (DASH)" in (page.text_content("#player-status") or "")
    assert page.evaluate("() => document.getElementById('video').currentTime") > 11
    first = [re.search(r"/seg-(\d+)\.", url) for url in segments]
    numbers = [int(match.group(1)) for match in first if match]
    assert numbers and 1 not in numbers, segments
