"""End-to-end fixtures: a real server process on a fresh database, and Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session

from cineflux.accounts import service as accounts
from cineflux.billing import service as billing
from cineflux.config import Settings
from cineflux.db import transaction
from cineflux.media.flows import ingest_into
from cineflux.platform import Platform, build_platform
from tests.conftest import fresh_database
from tests.factories import license_in_france

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
EMAIL, PASSWORD = "viewer@example.org", "an e2e test password"
ONE_SCREEN_EMAIL = "one-screen@example.org"  # on the one-stream plan


@dataclass(frozen=True)
class RunningServer:
    """A ``cineflux serve`` process and what was put in it."""

    base_url: str
    title_id: str
    title_name: str
    env: dict[str, str]  # what the process was started with: data directory and database


def start_process(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A ``python -m cineflux`` process, with exactly this environment.

    Its output goes to a log beside its data directory (``serve-<pid>.log``), the first
    place to look when a browser test fails on a server error.
    """
    logs = Path(env["CINEFLUX_DATA_DIR"]).parent
    with tempfile.NamedTemporaryFile(
        dir=logs, prefix=f"{args[0]}-", suffix=".log", delete=False
    ) as log:
        return subprocess.Popen(
            [sys.executable, "-m", "cineflux", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate, and kill after ten seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)  # polling a readiness probe, bounded by the deadline
    raise TimeoutError(f"{url} not healthy after {timeout}s")


def bilingual_film(ffmpeg: str, root: Path) -> tuple[Path, list[str]]:
    """A 20-second film with French and English audio, and French and English subtitles.

    Long enough that the player is still fetching media when a subtitle track is chosen.
    """
    source = root / "bilingue.mkv"
    subprocess.run(
        [ffmpeg, "-v", "error", "-f", "lavfi",
         "-i", "testsrc2=size=640x360:rate=25:duration=20",
         "-f", "lavfi", "-i", "sine=frequency=330:duration=20",
         "-f", "lavfi", "-i", "sine=frequency=660:duration=20",
         "-map", "0:v", "-map", "1:a", "-map", "2:a",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(source)],
        check=True,
    )  # fmt: skip
    french = root / "bilingue.fr.srt"
    french.write_text("1\n00:00:00,000 --> 00:00:19,000\nBonjour, le monde\n")
    english = root / "bilingue.en.vtt"
    english.write_text("WEBVTT\n\n00:00:00.000 --> 00:00:19.000\nHello, world\n")
    return source, [f"fr={french}", f"en={english}"]


E2E_PLAN = "e2e"


def subscribe(session: Session, platform: Platform, email: str, *, plan: str) -> None:
    """A subscriber in the free trial of ``plan``.

    The browser tests share one subscriber on a plan of many streams: a page closed by the
    test may not stop its play, which then counts for 90 s.
    """
    try:
        billing.get_plan(session, plan)
    except billing.PlanNotFound:
        spec = billing.PlanSpec(
            code=plan, name="E2E", price_cents=999, streams=20, max_resolution="HD"
        )
        billing.add_plan(session, spec)
    user = accounts.create_user(session, clock=platform.clock, email=email, password=PASSWORD)
    billing.subscribe(
        session,
        ctx=billing.BillingContext.of(session, clock=platform.clock, settings=platform.settings),
        user_id=user.id,
        email=user.email,
        plan_code=plan,
        card_number="4242424242424242",
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, ffmpeg: str) -> Iterator[RunningServer]:
    """The platform served on a free port, with one ingested title and one subscriber."""
    root = tmp_path_factory.mktemp("e2e")
    source, subtitles = bilingual_film(ffmpeg, root)
    with fresh_database(root) as url:
        # In clear: the browser tests of the player, edges and QoE; test_clear_key.py adds
        # an encrypted title of its own.
        # The fixed ladder: these tests are about the player; the per-title analysis has its
        # own tests, and would triple this fixture's time.
        settings = Settings(
            data_dir=root / "data",
            database_url=url,
            chunk_seconds=4,
            encrypt_media=False,
            per_title_ladder=False,
        )
        platform = build_platform(settings)
        result = ingest_into(
            platform,
            source,
            name="Essai de lecture",
            year=2024,
            audio_languages=["fra", "eng"],
            subtitles=subtitles,
        )
        license_in_france(platform, result.title_id)
        with transaction(platform.sessions) as session:
            subscribe(session, platform, EMAIL, plan=E2E_PLAN)
            subscribe(session, platform, ONE_SCREEN_EMAIL, plan="essentiel")
        platform.engine.dispose()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CINEFLUX_")}
        env.update(CINEFLUX_DATA_DIR=str(settings.data_dir), CINEFLUX_DATABASE_URL=url)
        process = start_process(["serve", "--port", str(port)], env)
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(base_url, process, timeout=30)
            yield RunningServer(base_url, result.title_id, "Essai de lecture", env)
        finally:
            stop_process(process)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; skipped with a reason where absent, but never in CI."""
    if not (shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each browser test's outcome where its ``page`` fixture can read it."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[_CALL_REPORT] = report


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page.

    When the test fails, its output ends with what Chromium saw: each request, answer,
    failed request and navigation of the page, timed from its start (a timeout alone
    says nothing of where a flow stopped).
    """
    context = browser.new_context()
    page = context.new_page()
    started = time.monotonic()
    seen: list[str] = []

    def note(line: str) -> None:
        seen.append(f"{time.monotonic() - started:8.3f} {line}")

    page.on("request", lambda r: note(f"-> {r.method} {r.url}"))
    page.on("response", lambda r: note(f"<- {r.status} {r.url}"))
    page.on("requestfailed", lambda r: note(f"!! {r.method} {r.url}: {r.failure}"))
    page.on(
        "framenavigated", lambda f: note(f"navigated {f.url}") if f.parent_frame is None else None
    )
    yield page
    report = request.node.stash.get(_CALL_REPORT, None)
    if report is not None and report.failed:
        print("What Chromium saw (seconds from the page's start):", *seen[-300:], sep="\n")
    context.close()
