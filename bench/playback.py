"""Playback benchmark: authorising plays under load, and time to first frame in Chromium.

The platform is a real ``cineflux serve`` (uvicorn, one process: ``serve`` has no worker
option, and one process per core behind a balancer is how an operator scales it) on a
fresh SQLite database in a temporary directory, with one packaged film (rendered by ffmpeg,
ingested on the fixed ladder), licensed in France, and ACCOUNTS subscribers on a plan with
enough streams, each with one profile and a signed-in web session.

Authorisations: wrk (100 connections, 2 threads) sends ``POST /api/playback`` with the
session cookie of the next account in turn (plays are not stopped: the plan allows them,
and each account keeps a few dozen live sessions at most, as the count is per account).
The floor, in the same invocation, under the same load: ``GET /healthz`` of the same server
(the app's middleware, routing and a thread hop, nothing else). Sides alternate, several
rounds each: the throughput target, auths/s >= 0.5 x the floor's requests/s. Then the
latency target, auths p99 <= 15 ms at 100 concurrent clients: the same 100 connections as
clients with random think times (exponential, wrk's ``delay``) offering half the
authorisations/s the closed loop sustained. A closed loop cannot measure it: with 100
connections always waiting, latency is 100 / throughput (Little's law), 100 ms and more even
for the floor; its percentiles are reported too. The floor is also paced at the same
offered rate, for reference: the latency the machine gives the cheapest request then.
Also reported: the server's time per request (its log's ``duration_ms``, from the
middleware entering to the response, so it includes the wait in the process's queue of
writers), its CPU time per request, and both sides at one connection (service time without
queueing).

Time to first frame: Chromium (Playwright) signs in, opens the title page and clicks Play;
the time runs from the click to the first video frame presented
(``requestVideoFrameCallback``; the ``playing`` event where it is missing), through the
watch page, ``POST /api/playback``, the manifest and the segments from the origin route.
Baseline: a static page with the same vendored Shaka Player and a link to a player page
that loads the same package's DASH manifest, all served by nginx from the same files (one
worker, sendfile). Targets: median ratio <= 1.2 and our median <= 500 ms.

    python bench/playback.py [--rounds 3] [--seconds 8] [--connections 100] [--runs 9]
                             [--paced-seconds 20]
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

# Run as a script (make bench): bench/ is on the path, with edge.py's helpers.
from edge import _ms, cpu_seconds, wait_listening  # type: ignore[import-not-found]
from rich.console import Console
from rich.table import Table

from cineflux.accounts import service as accounts
from cineflux.billing import service as billing
from cineflux.config import Settings
from cineflux.db import transaction
from cineflux.edge.harness import free_port
from cineflux.media import service as media
from cineflux.media.flows import ingest_into
from cineflux.media.synthetic import DEMO_FILMS, render_film
from cineflux.platform import Platform, build_platform
from cineflux.profiles import service as profiles
from cineflux.rights import service as rights
from cineflux.rights.chronology import paris_date, paris_midnight
from cineflux.web.assets import IMMUTABLE

RESULTS = Path(__file__).parent / "results" / "playback.json"
ACCOUNTS = 200
PASSWORD = "a benchmark password"  # noqa: S105 (a throwaway account of the bench)
BENCH_PLAN = "bench"
CARD = "4242424242424242"
SESSION_COOKIE = "cineflux_session"
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
DEVICE = {"codecs": ["avc1", "mp4a"], "max_height": 1080, "drm": ["clearkey"]}
P99_TARGET_MS = 15.0
THROUGHPUT_TARGET = 0.5
TTFF_RATIO_TARGET = 1.2
TTFF_TARGET_MS = 500.0
# The paced run offers this share of the authorisations/s the closed loop sustained.
PACED_LOAD = 0.5
MAX_THINK_MS = 4000

# The Shaka build our watch page loads for DASH: the baseline runs the very same player.
SHAKA_BUILD = "shaka-player.dash.js"

# Installed in every page: the click on Play and the first frame, on one clock.
FIRST_FRAME_PROBE = """
(() => {
  const at = () => performance.timeOrigin + performance.now();
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a.play");
    if (link) sessionStorage.setItem("benchClickAt", String(at()));
  }, true);
  document.addEventListener("DOMContentLoaded", () => {
    const video = document.querySelector("video");
    if (!video) return;
    video.addEventListener("playing", () => {
      if (!window.benchPlayingAt) window.benchPlayingAt = at();
    });
    if (video.requestVideoFrameCallback) {
      video.requestVideoFrameCallback((now, frame) => {
        window.benchFirstFrameAt = performance.timeOrigin + (frame.presentationTime || now);
      });
    }
  });
})();
"""

BASELINE_INDEX = """<!doctype html>
<html><head><meta charset="utf-8"><title>Baseline</title></head>
<body><a class="play" href="/player.html">Play</a></body></html>
"""
BASELINE_PLAYER = """<!doctype html>
<html><head><meta charset="utf-8"><title>Baseline player</title>
<script src="/vendor/shaka-player.dash.js" defer></script>
<script src="/baseline.js" defer></script></head>
<body><video id="video" controls autoplay playsinline></video></body></html>
"""
BASELINE_SCRIPT = """"use strict";
// Shaka hands configured clear keys to the CDM as a data: licence; the DASH build has no
// data: scheme (our watch page asks its licence server instead), so the baseline adds one.
function dataScheme(uri) {
  const bytes = Uint8Array.from(atob(uri.split(",", 2)[1]), (c) => c.charCodeAt(0));
  return shaka.util.AbortableOperation.completed({
    uri, originalUri: uri, data: bytes.buffer, status: 200, headers: {}, fromCache: false,
  });
}
async function start() {
  shaka.polyfill.installAll();
  if (!shaka.net.DataUriPlugin) shaka.net.NetworkingEngine.registerScheme("data", dataScheme);
  const player = new shaka.Player();
  await player.attach(document.getElementById("video"));
  // The watch page's start-up setting (player.js, FAST_START): the same player, configured
  // the same, so the comparison is about what serves it.
  player.configure({ abr: { minTimeToSwitch: 2 } });
  // An encrypted package: the keys are given to the player (no licence server).
  if (Object.keys(CLEAR_KEYS).length) player.configure({ drm: { clearKeys: CLEAR_KEYS } });
  await player.load(MANIFEST);
  await document.getElementById("video").play();
}
document.addEventListener("DOMContentLoaded", start);
"""


# --- The platform ------------------------------------------------------------------------


def prepare_platform(root: Path) -> tuple[Platform, str, list[dict[str, str]]]:
    """A fresh platform with one packaged, licensed film and ACCOUNTS signed-in subscribers.

    Returns the platform, the title id and, per account, its cookie token and profile id.
    """
    settings = Settings(
        data_dir=root / "data",
        database_url=f"sqlite:///{root / 'cineflux.db'}",
        chunk_seconds=4,
        per_title_ladder=False,
    )
    platform = build_platform(settings)
    film = DEMO_FILMS[0]
    source = root / f"{film.slug}.mp4"
    render_film(platform.ffmpeg, film, source, seconds=12, width=1280, height=720)
    result = ingest_into(platform, source, name=film.title, year=film.year)
    now = platform.clock.now()
    accounts_made: list[dict[str, str]] = []
    with transaction(platform.sessions) as session:
        policy = rights.rights_policy(session, settings.platform_profile)
        rights.add_window(
            session,
            clock=platform.clock,
            title_id=result.title_id,
            spec=rights.WindowSpec(
                territory="FR",
                license_type="SVOD",
                starts_at=paris_midnight(paris_date(now)) - timedelta(days=30),
                ends_at=None,
            ),
        )
        rights.refresh_availability(session, policy=policy, title_ids=[result.title_id])
        billing.add_plan(
            session,
            billing.PlanSpec(
                code=BENCH_PLAN, name="Bench", price_cents=999, streams=100_000,
                max_resolution="HD",
            ),
        )  # fmt: skip
    ctx_settings = platform.settings
    for number in range(ACCOUNTS):
        with transaction(platform.sessions) as session:
            user = accounts.create_user(
                session, clock=platform.clock, email=f"viewer{number}@bench.example",
                password=PASSWORD,
            )  # fmt: skip
            billing.subscribe(
                session,
                ctx=billing.BillingContext.of(session, clock=platform.clock, settings=ctx_settings),
                user_id=user.id,
                email=user.email,
                plan_code=BENCH_PLAN,
                card_number=CARD,
            )
            profile = profiles.ensure_first_profile(
                session, clock=platform.clock, user_id=user.id, name=f"Viewer {number}"
            )
            token = accounts.open_session(
                session, clock=platform.clock, user=user, ttl=timedelta(days=1)
            )
            accounts_made.append({"token": token, "profile": profile.id})
    return platform, result.title_id, accounts_made


@contextmanager
def running_serve(platform: Platform, log: Path) -> Iterator[tuple[int, int]]:
    """``cineflux serve`` on the platform's data; yields its port and pid."""
    settings = platform.settings
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CINEFLUX_")}
    env.update(
        CINEFLUX_DATA_DIR=str(settings.resolved_data_dir),
        CINEFLUX_DATABASE_URL=settings.sqlalchemy_url,
        CINEFLUX_LOG_FORMAT="json",
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cineflux", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_listening(port, process, timeout=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10):
            pass
        yield port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- Authorisations under load ---------------------------------------------------------


def authorise_script(root: Path, title_id: str, accounts_made: list[dict[str, str]]) -> Path:
    """A wrk script: POST /api/playback as the next account in turn (each thread its own
    starting point), with that account's cookie and profile."""
    cookies = ", ".join(json.dumps(f"{SESSION_COOKIE}={a['token']}") for a in accounts_made)
    bodies = ", ".join(
        json.dumps(json.dumps({"title_id": title_id, "profile_id": a["profile"], "device": DEVICE}))
        for a in accounts_made
    )
    script = root / "authorise.lua"
    script.write_text(
        f"local cookies = {{{cookies}}}\nlocal bodies = {{{bodies}}}\n"
        "local counter = 1\nlocal next_id = 0\n"
        "setup = function(thread)\n  thread:set('offset', next_id * 97)\n"
        "  next_id = next_id + 1\nend\n"
        "init = function(args)\n  counter = offset or 0\nend\n"
        "request = function()\n  counter = counter + 1\n"
        "  local i = counter % #cookies + 1\n"
        "  return wrk.format('POST', '/api/playback', {['Content-Type'] = 'application/json',"
        " ['Accept'] = 'application/json', ['Cookie'] = cookies[i]}, bodies[i])\nend\n"
    )
    return script


def paced_script(script: Path, mean_gap_ms: float) -> Path:
    """The authorisation script with a think time before each request: exponential with
    this mean, so each connection is a client pressing play now and then, and 100 of
    them arrive at random (open-loop) rather than in lockstep. Gaps are cut at
    MAX_THINK_MS, under uvicorn's keep-alive timeout (5 s), which closes idler connections
    (wrk would count a read error)."""
    paced = script.with_name(f"paced-{script.name}")
    paced.write_text(
        script.read_text() + f"local mean_gap_ms = {mean_gap_ms:.1f}\n"
        "local seeded = false\n"
        "delay = function()\n"
        "  if not seeded then math.randomseed(os.time() + (offset or 0)); seeded = true end\n"
        "  local gap = -math.log(1 - math.random()) * mean_gap_ms\n"
        f"  return math.floor(math.min(gap, {MAX_THINK_MS}))\nend\n"
    )
    return paced


def floor_script(root: Path) -> Path:
    """A wrk script: GET /healthz."""
    script = root / "floor.lua"
    script.write_text("request = function()\n  return wrk.format('GET', '/healthz')\nend\n")
    return script


def run_wrk(port: int, script: Path, args: argparse.Namespace, seconds: int) -> dict[str, float]:
    """One wrk run: requests/s and its latency percentiles; errors fail the bench."""
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--timeout", "10s",
        "--latency", "-s", str(script), f"http://127.0.0.1:{port}/",
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures: dict[str, float] = {}
    for line in output.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            figures["requests_per_s"] = float(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "75%", "90%", "99%"):
            figures[f"latency_p{parts[0][:-1]}_ms"] = _ms(parts[1])
        elif "requests in" in line:
            figures["requests"] = float(parts[0])
        elif "Non-2xx" in line or "Socket errors" in line:
            raise RuntimeError(f"wrk saw errors: {line.strip()}\n{output}")
    return figures


def server_times(log: Path, offset: int, message_prefix: str) -> tuple[list[float], int]:
    """Durations (ms) the server logged for requests whose line starts with the prefix,
    from byte ``offset`` on; and the new offset."""
    durations: list[float] = []
    with log.open("rb") as handle:
        handle.seek(offset)
        data = handle.read()
    for line in data.splitlines():
        if not line.startswith(b"{"):
            continue
        entry = json.loads(line)
        if entry.get("logger") == "cineflux.http" and entry["message"].startswith(message_prefix):
            durations.append(float(entry["duration_ms"]))
    return durations, offset + len(data)


def percentile(ordered: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def authorisation_rounds(
    port: int, pid: int, log: Path, root: Path, title_id: str,
    accounts_made: list[dict[str, str]], args: argparse.Namespace,
) -> dict[str, list[dict[str, Any]]]:  # fmt: skip
    """Alternating rounds of the floor and of authorisations, each with the server's view."""
    scripts = {"auth": authorise_script(root, title_id, accounts_made), "floor": floor_script(root)}
    prefixes = {"auth": "POST /api/playback 201", "floor": "GET /healthz 200"}
    # Warm up both paths (imports, caches, the SQLite page cache) before measuring.
    for side in ("floor", "auth"):
        run_wrk(port, scripts[side], args, seconds=2)
    rounds: dict[str, list[dict[str, Any]]] = {"auth": [], "floor": []}
    offset = log.stat().st_size
    for number in range(args.rounds):
        for side in ("floor", "auth") if number % 2 == 0 else ("auth", "floor"):
            cpu_before = cpu_seconds(pid)
            figures: dict[str, Any] = dict(run_wrk(port, scripts[side], args, args.seconds))
            wait_idle(log)  # requests queued when wrk stopped belong to this round
            cpu = cpu_seconds(pid) - cpu_before
            figures["server_cpu_ms_per_request"] = round(cpu * 1000 / figures["requests"], 3)
            durations, offset = server_times(log, offset, prefixes[side])
            durations.sort()
            figures["server_logged"] = len(durations)
            for p in (50, 90, 99):
                figures[f"server_p{p}_ms"] = percentile(durations, p)
            rounds[side].append(figures)
            print(f"round {number + 1} {side}: {figures}", file=sys.stderr)
    # One connection: the service time of each side without any queueing.
    for side in ("floor", "auth"):
        single = argparse.Namespace(**{**vars(args), "connections": 1, "threads": 1})
        figures = dict(run_wrk(port, scripts[side], single, args.seconds))
        wait_idle(log)
        durations, offset = server_times(log, offset, prefixes[side])
        durations.sort()
        for p in (50, 90, 99):
            figures[f"server_p{p}_ms"] = percentile(durations, p)
        rounds[f"{side}_one_connection"] = [figures]
        print(f"one connection {side}: {figures}", file=sys.stderr)
    # Paced: the same connections as clients with think times, offering a fixed share of
    # the capacity just measured, so latency is the service's and not the closed loop's
    # queue (with N connections always busy, latency is N / throughput by Little's law).
    capacity = statistics.median(r["requests_per_s"] for r in rounds["auth"])
    offered = PACED_LOAD * capacity
    # The floor at the same offered rate, after: what latency this machine gives any
    # request of this server at that load (the scheduler, wrk sharing the cores).
    for side in ("auth", "floor"):
        paced = paced_script(scripts[side], mean_gap_ms=args.connections / offered * 1000)
        figures = dict(run_wrk(port, paced, args, args.paced_seconds))
        wait_idle(log)
        durations, offset = server_times(log, offset, prefixes[side])
        durations.sort()
        figures["offered_per_s"] = round(offered, 1)
        for p in (50, 90, 99):
            figures[f"server_p{p}_ms"] = percentile(durations, p)
        rounds[f"{side}_paced"] = [figures]
        print(f"paced {side}: {figures}", file=sys.stderr)
    return rounds


def wait_idle(log: Path, timeout: float = 120) -> None:
    """Wait until the server's log stops growing: it has answered everything queued."""
    deadline = time.monotonic() + timeout
    size = -1
    while time.monotonic() < deadline and size != log.stat().st_size:
        size = log.stat().st_size
        time.sleep(1.0)  # a log line a second at least while requests remain


# --- Time to first frame -----------------------------------------------------------------


def nginx_config(root: Path, site: Path, storage: Path, port: int) -> str:
    """nginx serving the baseline pages and the package's files (one worker, sendfile).

    The package's files are ``no-store``: our plays fetch every segment anew (each play's
    token makes its URLs new), so the baseline's come over the network too, not as 304s of
    a browser cache that earlier runs filled. The scripts are cached for good on both sides,
    as ours are under their versioned URLs (``web/assets.py``): neither revalidates them.
    """
    temp = " ".join(
        f"{name}_temp_path {root}/{name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
worker_processes 1;
daemon off;
error_log {root}/error.log warn;
pid {root}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  include /etc/nginx/mime.types;
  types {{ application/dash+xml mpd; application/vnd.apple.mpegurl m3u8; video/mp4 m4s; }}
  access_log off; sendfile on; tcp_nopush on; tcp_nodelay on; keepalive_timeout 65s;
  {temp}
  server {{
    listen 127.0.0.1:{port};
    location /titles/ {{ root {storage}; add_header Cache-Control "no-store" always; }}
    location ~ \\.js$ {{ root {site}; add_header Cache-Control "{IMMUTABLE}" always; }}
    location / {{ root {site}; }}
  }}
}}
"""


@contextmanager
def running_nginx(root: Path, site: Path, storage: Path) -> Iterator[int]:
    """nginx with its own config in ``root``; yields its port."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = root / "nginx.conf"
    config.write_text(nginx_config(root, site, storage, port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen([nginx, "-c", str(config), "-p", str(root)], stderr=subprocess.PIPE)
    try:
        wait_listening(port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def package_clear_keys(platform: Platform, session: Any, title_id: str) -> dict[str, str]:
    """The package's content keys (key id → key, hex) for the baseline player; none when the
    title is not encrypted (or the platform has no key store yet)."""
    try:
        keystore: Any = importlib.import_module("cineflux.protection.keystore")
    except ImportError:
        return {}
    keys = keystore.key_store(platform.settings).title_keys(session, title_id=title_id)
    return {key.kid: key.key.hex() for key in keys.values()}


def baseline_site(root: Path, manifest_path: str, clear_keys: dict[str, str]) -> Path:
    """The baseline's static pages and the vendored Shaka Player."""
    from cineflux.web.templating import WEB_DIR

    site = root / "site"
    (site / "vendor").mkdir(parents=True)
    shutil.copy(WEB_DIR / "static" / "vendor" / SHAKA_BUILD, site / "vendor" / SHAKA_BUILD)
    (site / "index.html").write_text(BASELINE_INDEX)
    (site / "player.html").write_text(BASELINE_PLAYER)
    (site / "baseline.js").write_text(
        f"const MANIFEST = {json.dumps(manifest_path)};\n"
        f"const CLEAR_KEYS = {json.dumps(clear_keys)};\n" + BASELINE_SCRIPT
    )
    return site


def first_frame_ms(page: Any, start_url: str) -> dict[str, float]:
    """Open ``start_url``, click Play, wait for the first frame; ms from the click."""
    from playwright.sync_api import Error as PlaywrightError

    page.goto(start_url)
    page.click("a.play")
    # A frame, or the page saying the play failed (then there is no point waiting).
    page.wait_for_function(
        "() => window.benchFirstFrameAt || window.benchPlayingAt || /error|Could not|refused/i"
        ".test((document.getElementById('player-status') || {}).textContent || '')",
        timeout=30_000,
    )
    if not page.evaluate("() => window.benchFirstFrameAt || window.benchPlayingAt"):
        raise PlaywrightError("no frame: the page reports a failure")
    page.wait_for_function("() => document.querySelector('video').currentTime > 0")
    marks = page.evaluate(
        "() => [Number(sessionStorage.getItem('benchClickAt')), window.benchFirstFrameAt || 0,"
        " window.benchPlayingAt || 0]"
    )
    click, frame, playing = marks
    figures = {"playing_ms": round(playing - click, 1) if playing else float("nan")}
    figures["first_frame_ms"] = round(frame - click, 1) if frame else figures["playing_ms"]
    return figures


def ttff_runs(
    base_url: str,
    title_id: str,
    nginx_url: str,
    email: str,
    args: argparse.Namespace,
    failures: dict[str, list[str]],
) -> dict[str, list[dict[str, float]]]:
    """Alternating runs of ours and the baseline, after one warm-up run each; a run that
    shows no frame within 30 s is recorded in ``failures`` with the player's status."""
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    runs: dict[str, list[dict[str, float]]] = {"ours": [], "nginx": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            contexts = {"ours": browser.new_context(), "nginx": browser.new_context()}
            for context in contexts.values():
                context.add_init_script(FIRST_FRAME_PROBE)
            sign_in = contexts["ours"].new_page()
            sign_in.goto(base_url + "/login")
            sign_in.fill("input[name=email]", email)
            sign_in.fill("input[name=password]", PASSWORD)
            sign_in.click("button[type=submit]")
            sign_in.wait_for_url(base_url + "/")
            sign_in.close()
            starts = {"ours": f"{base_url}/titles/{title_id}", "nginx": f"{nginx_url}/index.html"}
            for number in range(args.runs + 1):
                for side in ("ours", "nginx") if number % 2 == 0 else ("nginx", "ours"):
                    page = contexts[side].new_page()
                    try:
                        figures = first_frame_ms(page, starts[side])
                    except PlaywrightError as error:
                        status = page.evaluate(
                            "() => (document.getElementById('player-status') || {}).textContent"
                        )
                        failures[side].append(f"{status or ''} {str(error).splitlines()[0]}")
                        print(f"ttff run {number} {side} failed: {failures[side][-1]}")
                        continue
                    finally:
                        page.close()  # the watch page stops its play as it goes
                    if number > 0:  # the first run of each warms the HTTP cache
                        runs[side].append(figures)
                    print(f"ttff run {number} {side}: {figures}", file=sys.stderr)
        finally:
            browser.close()
    return runs


# --- Main --------------------------------------------------------------------------------


def without_nan(value: Any) -> Any:
    """``value`` with NaN (a measure that failed) as null: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: without_nan(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [without_nan(item) for item in value]
    return value


def summarise(rounds: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, float]:
    """Medians over rounds."""
    return {key: round(statistics.median(r[key] for r in rounds), 3) for key in keys}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--paced-seconds", type=int, default=20)
    args = parser.parse_args()
    for tool in ("nginx", "wrk", CHROMIUM):
        if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists()):
            print(f"{tool} is needed: make system-deps")
            return 1
    load_before = os.getloadavg()
    failures: dict[str, list[str]] = {"ours": [], "nginx": []}
    with tempfile.TemporaryDirectory(prefix="cineflux-playback-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx's worker reads the package files
        print("preparing: rendering, ingesting, subscribing…", file=sys.stderr)
        platform, title_id, accounts_made = prepare_platform(root)
        with platform.sessions() as session:
            package = media.package_for_title(session, title_id)
            assert package is not None
            prefix, manifest = package.storage_prefix.strip("/"), package.dash_manifest
            clear_keys = package_clear_keys(platform, session, title_id)
        platform.engine.dispose()
        storage = platform.settings.media_dir
        for parent in [storage, *storage.parents]:
            if parent == root.parent:
                break
            parent.chmod(parent.stat().st_mode | 0o755)
        log = root / "serve.log"
        with running_serve(platform, log) as (port, pid):
            rounds = authorisation_rounds(port, pid, log, root, title_id, accounts_made, args)
            site = baseline_site(root, f"/{prefix}/{manifest}", clear_keys)
            with running_nginx(root / "nginx", site, storage) as nginx_port:
                runs = ttff_runs(
                    f"http://127.0.0.1:{port}",
                    title_id,
                    f"http://127.0.0.1:{nginx_port}",
                    "viewer0@bench.example",
                    args,
                    failures,
                )
    load_after = os.getloadavg()
    keys = (
        "requests_per_s", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms",
        "server_p50_ms", "server_p90_ms", "server_p99_ms", "server_cpu_ms_per_request",
    )  # fmt: skip
    auth, floor = summarise(rounds["auth"], keys), summarise(rounds["floor"], keys)
    alone = {side: rounds[f"{side}_one_connection"][0] for side in ("auth", "floor")}
    paced = rounds["auth_paced"][0]
    paced_floor = rounds["floor_paced"][0]
    throughput_ratio = auth["requests_per_s"] / floor["requests_per_s"]
    nan = float("nan")
    ttff: dict[str, dict[str, float]] = {}
    for side, samples in runs.items():
        ordered = sorted(s["first_frame_ms"] for s in samples)
        ttff[side] = {
            "median_ms": round(statistics.median(ordered), 1) if ordered else nan,
            "p90_ms": percentile(ordered, 90),
            "min_ms": ordered[0] if ordered else nan,
            "max_ms": ordered[-1] if ordered else nan,
            "runs": len(ordered),
            "failed_runs": len(failures[side]),
        }
    ttff_ratio = ttff["ours"]["median_ms"] / ttff["nginx"]["median_ms"]
    targets = [
        {"name": f"authorisation p99 latency, {args.connections} clients offering "
         f"{PACED_LOAD:g} x the measured capacity", "value": paced["latency_p99_ms"],
         "op": "<=", "target": P99_TARGET_MS, "unit": "ms"},
        {"name": "authorisations/s over the floor's requests/s (GET /healthz)",
         "value": round(throughput_ratio, 3), "op": ">=", "target": THROUGHPUT_TARGET,
         "unit": "ratio"},
        {"name": "time to first frame, median ours/nginx", "value": round(ttff_ratio, 3),
         "op": "<=", "target": TTFF_RATIO_TARGET, "unit": "ratio"},
        {"name": "time to first frame, median ours", "value": ttff["ours"]["median_ms"],
         "op": "<=", "target": TTFF_TARGET_MS, "unit": "ms"},
    ]  # fmt: skip
    table = Table(title=f"Playback: {args.connections} connections, {args.rounds} rounds")
    for column in ("measure", "ours", "baseline", "ratio", "target"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row(
        "auths/s vs GET /healthz req/s", f"{auth['requests_per_s']:.0f}",
        f"{floor['requests_per_s']:.0f}", f"{throughput_ratio:.3f}", f">= {THROUGHPUT_TARGET}",
    )  # fmt: skip
    for p in (50, 90, 99):
        table.add_row(
            f"closed loop: latency p{p} ms (wrk)", f"{auth[f'latency_p{p}_ms']:.1f}",
            f"{floor[f'latency_p{p}_ms']:.1f}", "", "",
        )  # fmt: skip
    table.add_row(
        f"paced: offered auths/s ({PACED_LOAD:g} x capacity)", f"{paced['offered_per_s']:.0f}",
        "", "", "",
    )  # fmt: skip
    for p in (50, 90, 99):
        table.add_row(
            f"paced: latency p{p} ms (wrk; floor at the same rate)",
            f"{paced[f'latency_p{p}_ms']:.1f}", f"{paced_floor[f'latency_p{p}_ms']:.1f}", "",
            f"<= {P99_TARGET_MS:g} ms" if p == 99 else "",
        )  # fmt: skip
    for p in (50, 90, 99):
        table.add_row(
            f"server time p{p} ms (log, incl. queue)", f"{auth[f'server_p{p}_ms']:.2f}",
            f"{floor[f'server_p{p}_ms']:.2f}", "", "",
        )  # fmt: skip
    for p in (50, 99):
        table.add_row(
            f"1 connection: latency p{p} ms (wrk)", f"{alone['auth'][f'latency_p{p}_ms']:.2f}",
            f"{alone['floor'][f'latency_p{p}_ms']:.2f}", "", "",
        )  # fmt: skip
    table.add_row(
        "1 connection: requests/s", f"{alone['auth']['requests_per_s']:.0f}",
        f"{alone['floor']['requests_per_s']:.0f}", "", "",
    )  # fmt: skip
    table.add_row(
        "server CPU ms / request", f"{auth['server_cpu_ms_per_request']:.2f}",
        f"{floor['server_cpu_ms_per_request']:.2f}", "", "",
    )  # fmt: skip
    table.add_row(
        "first frame median ms", f"{ttff['ours']['median_ms']:.0f}",
        f"{ttff['nginx']['median_ms']:.0f}", f"{ttff_ratio:.3f}",
        f"<= {TTFF_RATIO_TARGET}, <= {TTFF_TARGET_MS:g} ms",
    )  # fmt: skip
    table.add_row(
        "first frame p90 ms", f"{ttff['ours']['p90_ms']:.0f}", f"{ttff['nginx']['p90_ms']:.0f}",
        "", "",
    )  # fmt: skip
    Console().print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            without_nan({
                "bench": "playback",
                "targets": targets,
                "server": "cineflux serve: uvicorn, one process (serve has no worker option), "
                "SQLite (WAL), JSON request log on",
                "load": {"tool": "wrk", "threads": args.threads, "connections": args.connections,
                         "seconds": args.seconds, "rounds": args.rounds, "order": "alternating",
                         "accounts": ACCOUNTS, "floor": "GET /healthz"},
                "machine": {"cpus": os.cpu_count(), "shared": True,
                            "loadavg_before": load_before, "loadavg_after": load_after},
                "authorisations": auth,
                "floor": floor,
                "one_connection": alone,
                "paced": {**paced, "share_of_capacity": PACED_LOAD,
                          "think_time": "exponential, per connection"},
                "paced_floor": {**paced_floor, "same_offered_rate_as": "paced"},
                "rounds": rounds,
                "ttff_measure": "click on Play to the first frame presented "
                "(requestVideoFrameCallback), Chromium headless, scripts from a warm HTTP "
                "cache, media over the network on both sides (nginx: no-store), runs "
                "alternating",
                "ttff": ttff,
                "ttff_runs": runs,
                "ttff_failures": failures,
                "package_encrypted": bool(clear_keys),
            }),
            indent=2,
        )
        + "\n"
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
