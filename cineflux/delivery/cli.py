"""``cineflux cdn``: edges, steering, fill plans, signed URLs and capacity planning."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cineflux.cli_support import console, errors, fail, load_platform
from cineflux.db import transaction
from cineflux.delivery import service as delivery
from cineflux.delivery.capacity import (
    InvalidCapacityPlan,
    format_plan,
    parse_site_shares,
    plan_capacity,
)
from cineflux.delivery.coverage import load_coverage
from cineflux.delivery.errors import DeliveryError
from cineflux.delivery.flows import delivery_config, fill_plan
from cineflux.edge import tokens
from cineflux.media import service as media

app = typer.Typer(help="The delivery network: edges, steering, fill plans.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON for scripts")]


@app.command("keys")
def keys() -> None:
    """Print the edge token keys (``kid:secret,...``) to configure edges with. Secret!"""
    platform = load_platform()
    errors.print("secret: give it to edges only, never paste it in logs or tickets")
    print(delivery.edge_keys_spec(platform.settings, platform.signing_key))


@app.command("sign")
def sign(
    path: Annotated[str, typer.Argument(help="object path, e.g. /titles/ID/manifest.mpd")],
    session: Annotated[str, typer.Option("--session", help="playback session id")],
    ttl: Annotated[int, typer.Option("--ttl", min=1, help="seconds the URL stays valid")] = 3600,
    prefix: Annotated[
        str | None,
        typer.Option(help="sign a whole prefix (e.g. /titles/ID/) rather than the path alone"),
    ] = None,
) -> None:
    """Print the signed URL path of an object, as a player would get it."""
    platform = load_platform()
    config = delivery_config(platform)
    try:
        token = delivery.sign_path_prefix(
            config,
            path_prefix=tokens.check_object_path(prefix or path),
            session_id=session,
            expires=platform.clock.now() + timedelta(seconds=ttl),
        )
        print(tokens.signed_path(token, path))
    except (tokens.TokenError, ValueError) as error:
        fail(str(error))


@app.command("edges")
def edges(as_json: JsonOption = False) -> None:
    """Every edge: site, base URL, health, load, last heartbeat, rotation."""
    platform = load_platform()
    config = delivery_config(platform)
    with transaction(platform.sessions) as session:
        statuses = delivery.edge_statuses(session, now=platform.clock.now(), policy=config.health)
    if as_json:
        rows = [
            {
                "name": s.name,
                "site": s.site,
                "base_url": s.base_url,
                "healthy": s.healthy,
                "load": s.load,
                "egress_bps": s.egress_bps,
                "capacity_bps": s.capacity_bps,
                "disk_used_bytes": s.disk_used_bytes,
                "disk_capacity_bytes": s.disk_capacity_bytes,
                "last_heartbeat_at": s.last_heartbeat_at.isoformat(),
                "in_rotation": s.in_rotation,
                "rotation_since": s.rotation_since.isoformat(),
                "rotation_reason": s.rotation_reason,
            }
            for s in statuses
        ]
        print(json.dumps(rows))
        return
    table = Table("edge", "site", "base URL", "health", "load", "last heartbeat", "rotation")
    for s in statuses:
        table.add_row(
            s.name,
            s.site,
            s.base_url,
            "healthy" if s.healthy else "unhealthy",
            f"{s.load:.0%}",
            s.last_heartbeat_at.strftime("%Y-%m-%d %H:%M:%S"),
            ("in" if s.in_rotation else "out") + f" ({s.rotation_reason})",
        )
    console.print(table)


@app.command("fill-plan")
def show_fill_plan(
    site: Annotated[str, typer.Argument(help="the site, e.g. paris")],
    as_json: JsonOption = False,
) -> None:
    """The titles a site's edges fetch in the coming off-peak window, best first."""
    platform = load_platform()
    try:
        config = delivery_config(platform)
        with transaction(platform.sessions) as session:
            plan = fill_plan(
                session, config, storage=platform.storage, site=site, now=platform.clock.now()
            )
    except DeliveryError as error:
        fail(str(error))
    if as_json:
        print(json.dumps(plan.to_json()))
        return
    window = plan.window.label()
    console.print(
        f"Site [bold]{plan.site}[/]: {window['start']}-{window['end']} {window['timezone']}, "
        f"{plan.bandwidth_mbps:g} Mb/s ({plan.window_bytes / 1e9:,.1f} GB a window); "
        f"{len(plan.items)} titles, {plan.total_bytes / 1e9:,.2f} GB of "
        f"{plan.capacity_bytes / 1e9:,.2f} GB",
        highlight=False,
    )
    table = Table("#", "title", "score", "size", "edge", "files")
    for rank, item in enumerate(plan.items, start=1):
        table.add_row(
            str(rank),
            item.title_id,
            f"{item.score:.2f}",
            f"{item.size_bytes / 1e6:,.1f} MB",
            item.edge or "-",
            str(len(item.paths)),
        )
    console.print(table)


@app.command("plan")
def plan(
    subscribers: Annotated[int, typer.Option(help="subscribers of the service", min=1)],
    peak_concurrency: Annotated[
        str, typer.Option(help="share of subscribers watching at the peak, e.g. 0.045")
    ],
    bitrate_mbps: Annotated[str, typer.Option(help="average bitrate of a stream, Mb/s")],
    edge_gbps: Annotated[str, typer.Option(help="what one edge serves, Gb/s")],
    headroom: Annotated[str, typer.Option(help="share of each edge kept free at the peak")] = "0.3",
    spare: Annotated[int, typer.Option(help="extra edges per site, for failures", min=0)] = 1,
    sites: Annotated[
        str, typer.Option(help="sites and their share of viewers, e.g. paris=0.6,lyon=0.4")
    ] = "national=1",
) -> None:
    """Peak traffic and the edges each site needs (pure arithmetic, shown in full)."""
    try:
        result = plan_capacity(
            subscribers=subscribers,
            peak_concurrency=peak_concurrency,
            bitrate_mbps=bitrate_mbps,
            edge_gbps=edge_gbps,
            headroom=headroom,
            spare_edges=spare,
            sites=parse_site_shares(sites),
        )
    except (InvalidCapacityPlan, ArithmeticError) as error:
        fail(str(error) or "the numbers given are not numbers")
    print(format_plan(result))


@app.command("steer")
def steer(
    ip: Annotated[str, typer.Option("--ip", help="the client's address")],
    title: Annotated[str, typer.Option("--title", help="the title's id")],
    as_json: JsonOption = False,
) -> None:
    """Where a player at this address would be sent for this title, and why."""
    platform = load_platform()
    try:
        config = delivery_config(platform)
        with transaction(platform.sessions) as session:
            package = media.package_for_title(session, title)
            if package is None:
                fail(f"title {title} has no published package")
            signed = delivery.playback_locations(
                session,
                config,
                client_ip=ip,
                storage_prefix=package.storage_prefix,
                session_id="steer-debug",
                now=platform.clock.now(),
            )
    except DeliveryError as error:
        fail(str(error))
    rows = [
        {"rank": rank, "base_url": loc.base_url, "site": loc.site, "edge": loc.edge}
        for rank, loc in enumerate(signed.locations, start=1)
    ]
    if as_json:
        print(
            json.dumps(
                {
                    "client_site": signed.client_site.site,
                    "found_by": signed.client_site.found_by,
                    "locations": rows,
                }
            )
        )
        return
    console.print(
        f"client site: [bold]{signed.client_site.site or '-'}[/] ({signed.client_site.found_by})"
    )
    table = Table("#", "site", "edge", "base URL")
    for row in rows:
        table.add_row(
            str(row["rank"]), str(row["site"]), str(row["edge"] or "-"), str(row["base_url"])
        )
    console.print(table)


@app.command("zones")
def zones(
    path: Annotated[
        Path | None, typer.Argument(help="coverage zone file (default: CINEFLUX_COVERAGE_ZONES)")
    ] = None,
) -> None:
    """Check a coverage zone file and summarise its sites."""
    if path is None:
        path = load_platform().settings.coverage_zones
        if path is None:
            fail("no file given and CINEFLUX_COVERAGE_ZONES is not set")
    try:
        coverage = load_coverage(path)
    except DeliveryError as error:
        fail(str(error))
    table = Table("site", "countries", "neighbours", "coordinates")
    for site in coverage.sites.values():
        where = site.coordinates
        table.add_row(
            site.name,
            ",".join(site.countries) or "-",
            ",".join(site.neighbours) or "-",
            f"{where.latitude:.2f}, {where.longitude:.2f}" if where else "-",
        )
    console.print(table)
