"""``cineflux demo``: four synthetic films with rights, a demo subscriber, and the server."""

from __future__ import annotations

import atexit
import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from cineflux.accounts import service as accounts
from cineflux.billing import service as billing
from cineflux.catalog import flows as catalog_flows
from cineflux.catalog import service as catalog
from cineflux.cli_support import console
from cineflux.db import transaction
from cineflux.media.cli import ingest_with_progress
from cineflux.media.synthetic import DEMO_FILMS, render_film
from cineflux.platform import Platform
from cineflux.rights import service as rights
from cineflux.rights.chronology import add_months, paris_date, paris_midnight

DEMO_EMAIL = "demo@cineflux.example"
DEMO_SITE = "demo"
DEMO_PLAN = "premium"
DEMO_CARD = "4242424242424242"  # the simulated provider's card that always pays


@dataclass(frozen=True)
class DemoRights:
    """How a demo title is described and licensed, relative to the day the demo runs."""

    english_name: str
    synopsis_fr: str
    synopsis_en: str
    genres: tuple[str, ...]
    rating: str = "TP"
    european: bool = True
    french: bool = True
    starts_days_ago: int = 10
    ends_in_days: int | None = None
    # A French cinema release this many months ago puts the film under the chronologie.
    released_months_ago: int | None = None
    released_days_later: int = 0


DEMO_RIGHTS = {
    "Le Signal": DemoRights(
        "The Signal",
        "Une mire de test s'anime et cherche à transmettre un dernier message.",
        "A test pattern comes alive and tries to send one last message.",
        ("science-fiction", "thriller"),
    ),
    "Fractale": DemoRights(
        "Fractal",
        "Un voyage sans fin au cœur de l'ensemble de Mandelbrot.",
        "An endless journey into the Mandelbrot set.",
        ("documentary", "science-fiction"),
        starts_days_ago=400,
        ends_in_days=20,  # leaving soon
    ),
    "La Vie en cellules": DemoRights(
        "Life in Cells",
        "Des cellules naissent, s'aiment et meurent, sous vos yeux.",
        "Cells are born, love and die before your eyes.",
        ("animation", "family"),
        starts_days_ago=3,
    ),
    "Aurore": DemoRights(
        "Dawn",
        "Les couleurs d'un lever de soleil qui ne finit jamais.",
        "The colours of a sunrise that never ends.",
        ("drama", "romance"),
        rating="12",
        starts_days_ago=800,
        released_months_ago=20,  # in cinemas 20 months ago: SVOD opened after 17
    ),
}

# A film without media yet, still held back by the chronologie: it shows in "Coming soon".
COMING_SOON = ("Nocturne", 2025)
COMING_SOON_RIGHTS = DemoRights(
    "Nocturne",
    "Une ville la nuit, vue par ceux qui ne dorment pas.",
    "A city at night, seen by those who do not sleep.",
    ("drama",),
    rating="10",
    starts_days_ago=800,
    released_months_ago=17,
    released_days_later=12,  # SVOD opens in twelve days for a svod-other platform
)


@dataclass(frozen=True)
class DemoLogin:
    """The demo subscriber's credentials."""

    email: str
    password: str


def demo_password(platform: Platform) -> str:
    """The demo password: random, made on first run, kept in the data directory's secrets."""
    path = platform.settings.resolved_data_dir / "secrets" / "demo_password"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(12))
    return path.read_text().strip()


def prepare_demo(
    platform: Platform, *, seconds: float = 20, width: int = 1280, height: int = 720
) -> DemoLogin:
    """Make sure the demo films and subscriber exist; a second run only checks."""
    sources = platform.settings.resolved_data_dir / "demo-sources"
    for film in DEMO_FILMS:
        with platform.sessions() as session:
            already = any(t.year == film.year for t in catalog.find_titles(session, film.title))
        if already:
            continue
        source = sources / f"{film.slug}.mp4"
        if not source.exists():
            console.print(f"Rendering [bold]{film.title}[/] with ffmpeg…")
            render_film(platform.ffmpeg, film, source, seconds=seconds, width=width, height=height)
        ingest_with_progress(platform, Path(source), name=film.title, year=film.year)
    with transaction(platform.sessions) as session:
        _describe_and_license(platform, session)
    password = demo_password(platform)
    with transaction(platform.sessions) as session:
        user = accounts.find_user_by_email(session, DEMO_EMAIL)
        if user is None:
            accounts.create_user(
                session,
                clock=platform.clock,
                email=DEMO_EMAIL,
                password=password,
                display_name="Demo",
            )
        else:
            user.password_hash = accounts.hash_password(password)
    with transaction(platform.sessions) as session:
        _subscribe_demo_user(platform, session)
    return DemoLogin(DEMO_EMAIL, password)


def _subscribe_demo_user(platform: Platform, session: Session) -> None:
    """Put the demo subscriber on Premium (a trial, then the simulated test card), so that
    Play plays: every play is authorised against a subscription in good standing."""
    user = accounts.find_user_by_email(session, DEMO_EMAIL)
    if user is None or billing.live_subscription(session, user_id=user.id) is not None:
        return
    billing.subscribe(
        session,
        ctx=billing.BillingContext.of(session, clock=platform.clock, settings=platform.settings),
        user_id=user.id,
        email=user.email,
        plan_code=DEMO_PLAN,
        card_number=DEMO_CARD,
    )


def _describe_and_license(platform: Platform, session: Session) -> None:
    """Give the demo titles details and FR windows (a second run keeps existing windows)."""
    today = paris_date(platform.clock.now())
    midnight = paris_midnight(today)
    policy = rights.rights_policy(session, platform.settings.platform_profile)
    entries = [(film.title, film.year, DEMO_RIGHTS[film.title]) for film in DEMO_FILMS]
    entries.append((*COMING_SOON, COMING_SOON_RIGHTS))
    for name, year, spec in entries:
        found = [t for t in catalog.find_titles(session, name) if t.year == year]
        title = (
            found[0]
            if found
            else catalog.create_title(session, clock=platform.clock, name=name, year=year)
        )
        released = None
        if spec.released_months_ago is not None:
            released = add_months(today, -spec.released_months_ago) + timedelta(
                days=spec.released_days_later
            )
        details = catalog.TitleDetails(
            original_language="fr",
            production_countries=("FR",),
            fr_release_date=released,
            european_work=spec.european,
            french_language_work=spec.french,
            age_rating=spec.rating,
            localizations={
                "fr": (name, spec.synopsis_fr),
                "en": (spec.english_name, spec.synopsis_en),
            },
            genres=spec.genres,
            credits=(catalog.CreditSpec("Cineflux Studio", "director"),),
        )
        catalog_flows.save_details(session, policy=policy, title_id=title.id, details=details)
        if rights.windows_of(session, [title.id]):
            continue
        ends = midnight + timedelta(days=spec.ends_in_days) if spec.ends_in_days else None
        for territory in ("FR", "BE"):
            rights.add_window(
                session,
                clock=platform.clock,
                title_id=title.id,
                spec=rights.WindowSpec(
                    territory=territory,
                    license_type="SVOD",
                    starts_at=midnight - timedelta(days=spec.starts_days_ago),
                    ends_at=ends,
                    format_cap="UHD",
                ),
            )
        rights.refresh_availability(session, policy=policy, title_ids=[title.id])


@dataclass(frozen=True)
class DemoEdge:
    """An edge process the demo started."""

    name: str
    base_url: str
    process: subprocess.Popen[bytes]


def start_demo_edges(platform: Platform, *, host: str, app_port: int, count: int) -> list[DemoEdge]:
    """Start ``count`` edge processes of the site "demo", in front of this platform.

    Each runs on the next port after the app's, caches under ``<data dir>/edges/<name>``,
    takes its misses from the app's origin route and sends it heartbeats; the edge key
    reaches it through the environment, never its command line (``ps`` shows that).
    """
    from cineflux.delivery.service import edge_keys_spec

    settings = platform.settings
    if settings.cdn_default_site is None and settings.coverage_zones is None:
        settings.cdn_default_site = DEMO_SITE  # every viewer of the demo is near its edges
    origin = f"http://{host}:{app_port}"
    env = {**os.environ, "CINEFLUX_EDGE_TOKEN_KEYS": edge_keys_spec(settings, platform.signing_key)}
    edges = []
    for number in range(1, count + 1):
        name = f"{DEMO_SITE}-{number}"
        port = app_port + number
        command = [
            sys.executable, "-m", "cineflux", "edge", "--site", DEMO_SITE, "--name", name,
            "--listen", f"{host}:{port}", "--upstream", origin, "--control", origin,
            "--cache-dir", str(settings.resolved_data_dir / "edges" / name),
            "--cache-size", "2G",
            "--heartbeat-seconds", str(settings.cdn_heartbeat_seconds),
        ]  # fmt: skip
        process = subprocess.Popen(command, env=env)
        edges.append(DemoEdge(name, f"http://{host}:{port}", process))
    atexit.register(stop_demo_edges, edges)
    return edges


def stop_demo_edges(edges: list[DemoEdge]) -> None:
    """Stop the demo's edges (their caches stay, warm for the next run)."""
    for edge in edges:
        if edge.process.poll() is None:
            edge.process.terminate()
    for edge in edges:
        try:
            edge.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            edge.process.kill()
