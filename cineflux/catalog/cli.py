"""``cineflux catalog``: catalogue maintenance from the command line or cron."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from cineflux.catalog import flows, search
from cineflux.catalog import service as catalog
from cineflux.catalog.models import Title
from cineflux.cli_support import console, fail, load_platform
from cineflux.db import transaction
from cineflux.rights import service as rights
from cineflux.rights.chronology import paris_date

app = typer.Typer(help="Catalogue maintenance.", no_args_is_help=True)


def _find(session: Session, reference: str) -> Title:
    matches = catalog.find_titles(session, reference)
    if not matches:
        fail(f"no title has the id or name {reference!r}")
    if len(matches) > 1:
        fail(f"{len(matches)} titles are named {reference!r}; give an id")
    return matches[0]


@app.command("describe")
def describe(
    title: Annotated[str, typer.Argument(help="title id or exact name")],
    details_file: Annotated[Path, typer.Argument(help="JSON: see `cineflux catalog show`")],
) -> None:
    """Set a title's details (languages, release, ratings, names, genres, credits)."""
    try:
        data = json.loads(details_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        fail(f"{details_file}: {error}")
    platform = load_platform()
    try:
        with transaction(platform.sessions) as session:
            found = _find(session, title)
            details = catalog.details_from_json(data)
            policy = rights.rights_policy(session, platform.settings.platform_profile)
            flows.save_details(session, policy=policy, title_id=found.id, details=details)
    except catalog.InvalidTitle as error:
        fail(str(error))
    console.print(f"Details of [bold]{found.name}[/] saved; availability and search refreshed")


@app.command("show")
def show(title: Annotated[str, typer.Argument(help="title id or exact name")]) -> None:
    """Print a title's details as JSON (the shape `describe` reads)."""
    platform = load_platform()
    with platform.sessions() as session:
        found = _find(session, title)
        details = catalog.details_to_json(session, found)
    print(
        json.dumps(
            {
                "id": found.id,
                "name": found.name,
                "kind": found.kind,
                "credits_start_seconds": found.credits_start_seconds,
                **details,
            },
            ensure_ascii=False,
            indent=2,
        )
    )


@app.command("credits-start")
def credits_start(
    title: Annotated[str, typer.Argument(help="film or episode: id or exact name")],
    position: Annotated[
        str, typer.Argument(help="where the end credits start: H:MM:SS, M:SS or seconds; none")
    ],
) -> None:
    """Mark where a title's end credits start: watching past it completes the title, and
    the player offers the next episode from there (none: the last 5 % and 20 s decide)."""
    platform = load_platform()
    try:
        seconds = None if position.strip().lower() == "none" else catalog.parse_position(position)
        with transaction(platform.sessions) as session:
            found = catalog.set_credits_start(session, _find(session, title).id, seconds)
            name = found.name
    except catalog.InvalidTitle as error:
        fail(str(error))
    if seconds is None:
        console.print(f"[bold]{name}[/] has no credits mark now")
    else:
        console.print(f"Credits of [bold]{name}[/] start at {seconds:g} s")


@app.command("rank")
def rank(
    day: Annotated[str | None, typer.Option(help="YYYY-MM-DD; default today in Paris")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
) -> None:
    """Rank each territory's most played titles of the last seven days (the Top 10)."""
    platform = load_platform()
    try:
        ranked_day = date.fromisoformat(day) if day else paris_date(platform.clock.now())
    except ValueError:
        fail(f"{day!r} is not a date (YYYY-MM-DD)")
    with transaction(platform.sessions) as session:
        written = catalog.rank_top_titles(session, day=ranked_day)
    if as_json:
        print(json.dumps({"day": ranked_day.isoformat(), "ranked": written}))
    else:
        console.print(f"Ranked {written} titles for {ranked_day}")


@app.command("reindex")
def reindex() -> None:
    """Rebuild every title's search document (after an upgrade or new folding rules)."""
    platform = load_platform()
    with transaction(platform.sessions) as session:
        indexed = search.refresh_all_search_documents(session)
    console.print(f"Search documents rebuilt for {indexed} titles")
