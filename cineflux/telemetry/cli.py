"""``cineflux qoe``: startup-time and rebuffer-ratio percentiles from players' reports."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table

from cineflux.cli_support import console, fail, load_platform
from cineflux.db import transaction
from cineflux.telemetry import service as telemetry
from cineflux.telemetry.metrics import parse_since

PRUNE_CHUNK = 10_000
app = typer.Typer(help="Quality of experience reported by players.", no_args_is_help=True)


@app.command("report")
def report(
    since: Annotated[
        str, typer.Option(help="window start: 90m, 24h, 7d, or an ISO date (UTC)")
    ] = "24h",
    by: Annotated[str, typer.Option(help="group by title, edge, device or hour")] = "title",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
) -> None:
    """Startup time (ms) and rebuffer ratio (stall / watch time) percentiles per group."""
    if by not in telemetry.GROUPINGS:
        fail(f"--by takes one of {', '.join(telemetry.GROUPINGS)}, not {by!r}")
    platform = load_platform()
    try:
        start = parse_since(since, now=platform.clock.now())
    except ValueError as error:
        fail(str(error))
    try:
        with transaction(platform.sessions) as session:
            groups = telemetry.qoe_report(session, since=start, by=by)
    except telemetry.TelemetryError as error:
        fail(str(error))
    if as_json:
        print(
            json.dumps(
                {"since": start.isoformat(), "by": by, "groups": [g.to_json() for g in groups]}
            )
        )
        return
    if not groups:
        console.print(f"No QoE reports since {start:%Y-%m-%d %H:%M} UTC.")
        return
    table = Table(title=f"QoE since {start:%Y-%m-%d %H:%M} UTC, by {by}")
    table.add_column(by)
    table.add_column("sessions", justify="right")
    for name in ("p50", "p90", "p99"):
        table.add_column(f"startup {name} ms", justify="right")
    for name in ("p50", "p90", "p99"):
        table.add_column(f"rebuffer {name}", justify="right")
    table.add_column("switches", justify="right")
    table.add_column("errors", justify="right")
    for group in groups:
        table.add_row(
            group.key,
            str(group.sessions),
            *_cells(group.startup_ms, lambda v: f"{v:.0f}"),
            *_cells(group.rebuffer_ratio, lambda v: f"{v:.2%}"),
            str(group.switches),
            str(group.errors),
        )
    console.print(table)


@app.command("prune")
def prune(
    older_than: Annotated[
        str, typer.Option(help="delete raw events older than this: 30d, 12h, 90m")
    ] = f"{telemetry.QoePolicy().retention.days}d",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for scripts")] = False,
) -> None:
    """Delete raw QoE events past their retention (run it daily); hourly rollups stay."""
    platform = load_platform()
    now = platform.clock.now()
    try:
        before = parse_since(older_than, now=now)
    except ValueError as error:
        fail(str(error))
    if before > now:
        fail("--older-than goes back in time: 30d, 12h, 90m")
    deleted = 0
    while True:  # one short transaction per chunk: writers are never held up for long
        with transaction(platform.sessions) as session:
            chunk = telemetry.prune_events(session, before=before, limit=PRUNE_CHUNK)
        deleted += chunk
        if chunk < PRUNE_CHUNK:
            break
    if as_json:
        print(json.dumps({"before": before.isoformat(), "deleted": deleted}))
    else:
        console.print(f"Deleted {deleted} QoE events from before {before:%Y-%m-%d %H:%M} UTC.")


def _cells(values: dict[str, float] | None, show: Callable[[float], str]) -> list[str]:
    if values is None:
        return ["-", "-", "-"]
    return [show(values[name]) for name in ("p50", "p90", "p99")]
