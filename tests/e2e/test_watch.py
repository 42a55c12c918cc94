"""A subscriber signs in, opens a title and watches it in Chromium with Shaka Player."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.e2e.conftest import CHROMIUM_ARGS, EMAIL, ONE_SCREEN_EMAIL, PASSWORD, RunningServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page."""
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


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

    page.click(f"text={server.title_name}")
    page.wait_for_url(f"**/titles/{server.title_id}")
    page.click("text=Play (HLS)" if stream == "HLS" else "a.play")
    page.wait_for_selector("video#video")

    page.wait_for_function("() => document.getElementById('video').currentTime > 2", timeout=30_000)
    status = page.text_content("#player-status") or ""
    assert f"Playing ({stream})" in status
    # The play's personalised manifest, from the API, not the package's.
    manifest = page.evaluate("() => window.cinefluxPlayer.getAssetUri()")
    name = "master.m3u8" if stream == "HLS" else "manifest.mpd"
    assert re.fullmatch(rf"{server.base_url}/api/playback/[A-Za-z0-9_-]+/{name}", manifest)
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


def _sign_in_and_watch(page: Page, server: RunningServer, email: str) -> None:
    page.goto(server.base_url + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.base_url + "/")
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
