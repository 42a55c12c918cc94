"""``cineflux catalog``: catalogue maintenance from the command line or cron."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

from cineflux.catalog import service as catalog
from cineflux.cli_support import console, fail, load_platform
from cineflux.db import transaction
from cineflux.rights.chronology import paris_date

app = typer.Typer(help="Catalogue maintenance.", no_args_is_help=True)


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
