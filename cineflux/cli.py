"""The ``cineflux`` command: assembles the domain sub-apps."""

from __future__ import annotations

import gc
import importlib
import os
from typing import Annotated

import typer
from typer import _click as click  # Typer's own copy of click: its commands are these
from typer.core import TyperGroup

from cineflux.cli_support import console, fail, load_platform
from cineflux.config import Settings
from cineflux.db import upgrade_schema
from cineflux.logs import configure_logging
from cineflux.platform import Platform

# The domains' commands, imported when one is named (or the list is shown): each pulls in
# its domain's models and services, and importing them all made every command, even
# ``--help``, start in 2.4 s.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "users": ("cineflux.accounts.cli", "app"),
    "billing": ("cineflux.billing.cli", "app"),
    "catalog": ("cineflux.catalog.cli", "app"),
    "media": ("cineflux.media.cli", "media_app"),
    "rights": ("cineflux.rights.cli", "app"),
    "report": ("cineflux.rights.cli", "report_app"),
    "avails": ("cineflux.rights.avails_cli", "avails_app"),
    "mail": ("cineflux.mail.cli", "app"),
    "cdn": ("cineflux.delivery.cli", "app"),
    "qoe": ("cineflux.telemetry.cli", "app"),
    "keys": ("cineflux.protection.cli", "app"),
    "ingest": ("cineflux.media.cli", "ingest"),
    "worker": ("cineflux.media.cli", "worker"),
    "edge": ("cineflux.edge.cli", "edge"),
}


class LazyCommands(TyperGroup):
    """The top-level group: its own commands, and LAZY_COMMANDS loaded on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        loaded = super().list_commands(ctx)  # lazy ones already named are among them
        return [*loaded, *(name for name in LAZY_COMMANDS if name not in loaded)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            command = self.commands[cmd_name] = load_command(cmd_name)
        return command


def load_command(name: str) -> click.Command:
    """The click command of one of LAZY_COMMANDS: a group of a domain, or a single command."""
    module, attribute = LAZY_COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command: click.Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)  # completion is the top level's
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


app = typer.Typer(
    cls=LazyCommands,
    help="Cineflux: subscription video-on-demand platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="target revision")] = "heads",
) -> None:
    """Apply migrations (creates the database when it does not exist)."""
    settings = Settings()
    settings.ensure_data_dir()
    upgrade_schema(settings.sqlalchemy_url, revision)
    console.print(f"Database at [bold]{revision}[/]")


def _serve(host: str | None, port: int | None, platform: Platform | None = None) -> None:
    import uvicorn

    from cineflux.app import create_app
    from cineflux.billing.tasks import start_billing_thread
    from cineflux.catalog.tasks import start_ranking_thread
    from cineflux.db import start_wal_checkpointer
    from cineflux.mail.sender import start_platform_sender

    platform = platform or load_platform()
    settings = platform.settings
    configure_logging(settings.log_format)
    check_delivery_settings(platform)
    # First: it replaces the engine's connections, so the threads' own come from after it.
    start_wal_checkpointer(platform.engine)
    start_ranking_thread(platform)
    start_billing_thread(platform)
    start_platform_sender(platform)
    app = create_app(platform)
    # What start-up made (modules, the app, SQLAlchemy's mappers) lives as long as the
    # process: out of the collector's sight, a full collection scans only what requests
    # made since. It paused a serving process for 113 ms, 8 ms after (bench/playback.py).
    gc.freeze()
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,  # ours, configured above: one line per request, with its id
        access_log=False,
        proxy_headers=False,
    )


def check_delivery_settings(platform: Platform) -> None:
    """Refuse to start on a broken coverage zone file, fill window or edge key list, rather
    than answer every playback with an error."""
    from cineflux.delivery.errors import DeliveryError
    from cineflux.delivery.flows import delivery_config

    try:
        delivery_config(platform)
    except (DeliveryError, ValueError) as error:
        fail(f"delivery network settings: {error}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
) -> None:
    """Run the web application and API."""
    _serve(host, port)


@app.command()
def demo(
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
    prepare_only: Annotated[
        bool, typer.Option("--prepare-only", help="set up the demo data, do not serve")
    ] = False,
    edges: Annotated[
        int, typer.Option(min=0, max=8, help="edge servers to start on the next ports")
    ] = 2,
) -> None:
    """Generate four synthetic films, ingest them, create a demo subscriber, and serve."""
    from cineflux.demo import prepare_demo

    platform = load_platform()
    if "CINEFLUX_PER_TITLE_LADDER" not in os.environ:
        # The analysis takes minutes per film on a laptop; the demo shows the rest at once.
        platform.settings.per_title_ladder = False
        console.print("Demo films use the fixed ladder (CINEFLUX_PER_TITLE_LADDER=true to analyse)")
    from cineflux.mail.devserver import start_demo_mail

    mail_server = start_demo_mail(platform.settings)  # None when an SMTP relay is configured
    login = prepare_demo(platform)
    settings = platform.settings
    url = settings.public_url or f"http://{host or settings.host}:{port or settings.port}"
    console.rule("[bold red]Cineflux demo")
    console.print(f"Open      [bold]{url}/[/]")
    console.print(f"Sign in   [bold]{login.email}[/]  password [bold]{login.password}[/]")
    console.print(f"API docs  {url}/api/docs")
    if mail_server is not None:
        console.print(f"Mail      {mail_server.directory}/*.eml (a local SMTP server receives it)")
    if prepare_only:
        console.rule()
        return
    from cineflux.demo import start_demo_edges

    listen_host, listen_port = host or settings.host, port or settings.port
    demo_edges = start_demo_edges(platform, host=listen_host, app_port=listen_port, count=edges)
    for started in demo_edges:
        console.print(f"Edge      {started.base_url}/metrics  ({started.name}, site demo)")
    console.rule()
    _serve(host, port, platform)  # the demo's platform: its local mail server included


def main() -> None:
    """Entry point of the ``cineflux`` script."""
    app()
