"""``cineflux billing``: plans, the renewal run, webhook delivery."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from cineflux.billing import rules
from cineflux.billing import service as billing
from cineflux.billing.models import Plan
from cineflux.billing.tasks import deliver_webhooks, http_sender, in_process_sender, run_billing
from cineflux.cli_support import console, fail, load_platform
from cineflux.db import transaction

app = typer.Typer(help="Plans, subscriptions and payments.", no_args_is_help=True)
plans_app = typer.Typer(help="The plans on offer (prices in euro cents, VAT included).")
app.add_typer(plans_app, name="plans")


def _plan_dict(plan: Plan) -> dict[str, object]:
    return {
        "code": plan.code,
        "name": plan.name,
        "price_cents": plan.price_cents,
        "currency": plan.currency,
        "streams": plan.streams,
        "max_resolution": plan.max_resolution,
        "downloads": plan.downloads,
        "available": plan.available,
        "position": plan.position,
    }


@plans_app.command("list")
def plans_list(
    as_json: Annotated[bool, typer.Option("--json", help="print the plans as JSON")] = False,
) -> None:
    """Every plan, offered or withdrawn."""
    platform = load_platform()
    with transaction(platform.sessions) as session:
        rows = [_plan_dict(plan) for plan in billing.list_plans(session, offered_only=False)]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("code", "name", "price", "streams", "resolution", "downloads", "offered")
    for row in rows:
        table.add_row(
            str(row["code"]),
            str(row["name"]),
            rules.format_euros(int(str(row["price_cents"]))),
            str(row["streams"]),
            str(row["max_resolution"]),
            str(row["downloads"]),
            "yes" if row["available"] else "no",
        )
    console.print(table)


@plans_app.command("add")
def plans_add(
    code: Annotated[str, typer.Argument(help="short identifier, e.g. famille")],
    name: Annotated[str, typer.Option(help="the name subscribers see")],
    price_cents: Annotated[int, typer.Option(help="monthly price in euro cents, VAT included")],
    streams: Annotated[int, typer.Option(help="streams at once")],
    resolution: Annotated[str, typer.Option(help="SD, HD or UHD")],
    downloads: Annotated[int, typer.Option(help="devices that may keep downloads")] = 0,
    position: Annotated[int, typer.Option(help="order on the plans page")] = 0,
    hidden: Annotated[bool, typer.Option(help="create it without offering it")] = False,
) -> None:
    """Add a plan."""
    platform = load_platform()
    spec = billing.PlanSpec(
        code=code,
        name=name,
        price_cents=price_cents,
        streams=streams,
        max_resolution=resolution.upper(),
        downloads=downloads,
        available=not hidden,
        position=position,
    )
    try:
        with transaction(platform.sessions) as session:
            billing.add_plan(session, spec)
    except billing.BillingError as error:
        fail(str(error))
    console.print(f"Added plan [bold]{code}[/] at {rules.format_euros(price_cents)} a month")


@plans_app.command("edit")
def plans_edit(
    code: Annotated[str, typer.Argument(help="the plan to change")],
    name: Annotated[str | None, typer.Option()] = None,
    price_cents: Annotated[
        int | None, typer.Option(help="new monthly price (each subscriber's next renewal)")
    ] = None,
    streams: Annotated[int | None, typer.Option()] = None,
    resolution: Annotated[str | None, typer.Option(help="SD, HD or UHD")] = None,
    downloads: Annotated[int | None, typer.Option()] = None,
    position: Annotated[int | None, typer.Option()] = None,
    offered: Annotated[
        bool | None, typer.Option("--offered/--withdrawn", help="offer it to new subscribers")
    ] = None,
) -> None:
    """Change a plan."""
    platform = load_platform()
    try:
        with transaction(platform.sessions) as session:
            billing.edit_plan(
                session,
                code,
                name=name,
                price_cents=price_cents,
                streams=streams,
                max_resolution=resolution.upper() if resolution else None,
                downloads=downloads,
                position=position,
                available=offered,
            )
    except billing.BillingError as error:
        fail(str(error))
    console.print(f"Changed plan [bold]{code}[/]")


@app.command("run")
def run(
    as_json: Annotated[bool, typer.Option("--json", help="print the counts as JSON")] = False,
) -> None:
    """Renew what is due, retry failed cards, end what has ended (run it at least daily)."""
    platform = load_platform()
    report = run_billing(platform)
    if as_json:
        print(json.dumps(report.as_dict()))
    else:
        counts = ", ".join(f"{key} {value}" for key, value in report.as_dict().items())
        console.print(f"Billing run: {counts}")


@app.command("deliver-webhooks")
def deliver(
    url: Annotated[
        str | None,
        typer.Option(help="POST to this endpoint (e.g. http://host/api/billing/webhooks)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the count as JSON")] = False,
) -> None:
    """Send the simulated provider's pending events, signed, to the webhook handler."""
    if url is not None and not url.startswith(("http://", "https://")):
        fail("--url must be an http:// or https:// address")
    platform = load_platform()
    send = http_sender(url) if url else in_process_sender(platform)
    delivered = deliver_webhooks(platform, send)
    if as_json:
        print(json.dumps({"delivered": delivered}))
    else:
        console.print(f"Delivered {delivered} webhook event(s)")
