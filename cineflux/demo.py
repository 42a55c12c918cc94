"""``cineflux demo``: four synthetic films, a demo subscriber, and the server."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cineflux.accounts import service as accounts
from cineflux.catalog import service as catalog
from cineflux.cli_support import console
from cineflux.db import transaction
from cineflux.media.cli import ingest_with_progress
from cineflux.media.synthetic import DEMO_FILMS, render_film
from cineflux.platform import Platform

DEMO_EMAIL = "demo@cineflux.example"


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
    return DemoLogin(DEMO_EMAIL, password)
