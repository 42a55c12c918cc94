"""An encrypted title (CENC, the product default) plays in Chromium with Clear Key: Shaka
gets the licence URL from the play and the keys from the licence endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Request, sync_playwright

from tests.e2e.conftest import CHROMIUM_ARGS, EMAIL, PASSWORD, RunningServer

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


def test_an_encrypted_title_plays_with_keys_from_the_clear_key_licence_endpoint(
    page: Page, server: RunningServer
) -> None:
    licence_requests: list[Request] = []
    page.on("request", lambda r: licence_requests.append(r) if r.url.endswith("/license") else None)
    page.goto(server.base_url + "/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.base_url + "/")
    page.goto(f"{server.base_url}/titles/{server.title_id}/watch")

    page.wait_for_function("() => document.getElementById('video').currentTime > 3", timeout=30_000)
    drm = page.evaluate("() => window.cinefluxPlayer.drmInfo()")
    assert drm is not None and drm["keySystem"] == "org.w3.clearkey"
    assert drm["encryptionScheme"] == "cenc"
    assert len(licence_requests) >= 1
    asked = json.loads(licence_requests[0].post_data or "{}")
    assert asked["kids"] and asked.get("type", "temporary") == "temporary"
    answer = licence_requests[0].response()
    assert answer is not None and answer.status == 200
    assert {key["kty"] for key in answer.json()["keys"]} == {"oct"}
