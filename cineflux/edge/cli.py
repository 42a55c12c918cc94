"""``cineflux edge``: run an edge server (also ``python -m cineflux.edge``).

Imports only the edge package and Typer: an edge machine needs no database settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import socket
from pathlib import Path
from typing import Annotated

import typer

from cineflux.edge.eviction import DEFAULT_POLICY
from cineflux.edge.settings import check_upstream, default_public_url, parse_listen, parse_size
from cineflux.edge.tokens import parse_keys

logger = logging.getLogger("cineflux.edge")


def edge(
    token_keys: Annotated[
        str,
        typer.Option(
            envvar="CINEFLUX_EDGE_TOKEN_KEYS",
            help="'kid:secret,kid2:secret2'; the first signs control-plane requests",
            show_default=False,
        ),
    ],
    upstream: Annotated[
        list[str],
        typer.Option(
            envvar="CINEFLUX_EDGE_UPSTREAM",
            help="origin or parent edge (http(s)://...) or file:///storage; repeat for failover",
        ),
    ],
    cache_dir: Annotated[
        Path, typer.Option(envvar="CINEFLUX_EDGE_CACHE_DIR", help="cache directory")
    ] = Path("edge-cache"),
    cache_size: Annotated[
        str, typer.Option(envvar="CINEFLUX_EDGE_CACHE_SIZE", help="cache bound, e.g. 200M, 50G")
    ] = "10G",
    site: Annotated[str, typer.Option(envvar="CINEFLUX_EDGE_SITE", help="site name")] = "default",
    name: Annotated[
        str | None, typer.Option(envvar="CINEFLUX_EDGE_NAME", help="edge name (host name)")
    ] = None,
    listen: Annotated[
        str, typer.Option(envvar="CINEFLUX_EDGE_LISTEN", help="host:port to listen on")
    ] = "0.0.0.0:8600",
    public_url: Annotated[
        str | None,
        typer.Option(envvar="CINEFLUX_EDGE_PUBLIC_URL", help="base URL players use"),
    ] = None,
    eviction: Annotated[
        str, typer.Option(envvar="CINEFLUX_EDGE_EVICTION", help="eviction policy")
    ] = DEFAULT_POLICY,
    control: Annotated[
        str | None,
        typer.Option(envvar="CINEFLUX_EDGE_CONTROL", help="control plane base URL"),
    ] = None,
    heartbeat_seconds: Annotated[
        float, typer.Option(envvar="CINEFLUX_EDGE_HEARTBEAT_SECONDS", min=0.1)
    ] = 5.0,
    capacity_gbps: Annotated[
        float,
        typer.Option(envvar="CINEFLUX_EDGE_CAPACITY_GBPS", min=0.001, help="link capacity"),
    ] = 10.0,
    max_connections: Annotated[
        int, typer.Option(envvar="CINEFLUX_EDGE_MAX_CONNECTIONS", min=1)
    ] = 10_000,
    fill_now: Annotated[
        bool, typer.Option("--fill-now", help="fetch the fill plan and run it at start")
    ] = False,
    access_log: Annotated[
        bool, typer.Option("--access-log", envvar="CINEFLUX_EDGE_ACCESS_LOG")
    ] = False,
    log_format: Annotated[
        str, typer.Option(envvar="CINEFLUX_EDGE_LOG_FORMAT", help="text or json")
    ] = "text",
    upstream_timeout: Annotated[
        float, typer.Option(envvar="CINEFLUX_EDGE_UPSTREAM_TIMEOUT", min=0.1)
    ] = 10.0,
) -> None:
    """Run an edge cache server (the data plane)."""
    from cineflux.edge.server import EdgeConfig

    try:
        host, port = parse_listen(listen)
        config = EdgeConfig(
            site=site,
            name=name or socket.gethostname(),
            host=host,
            port=port,
            public_url=(public_url or default_public_url(host, port)).rstrip("/"),
            upstreams=tuple(check_upstream(url) for url in _split(upstream)),
            cache_dir=cache_dir,
            cache_size=parse_size(cache_size),
            keys=parse_keys(token_keys),
            eviction=eviction,
            control=control.rstrip("/") if control else None,
            heartbeat_seconds=heartbeat_seconds,
            capacity_bps=int(capacity_gbps * 1e9),
            max_connections=max_connections,
            fill_now=fill_now,
            access_log=access_log,
            upstream_timeout=upstream_timeout,
        )
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    if log_format == "json":
        from cineflux.logs import configure_logging  # brings FastAPI: only when asked for

        configure_logging(log_format)
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    _raise_open_files_limit()
    asyncio.run(run_edge(config))


def _split(values: list[str]) -> list[str]:
    """Upstreams given as repeated flags, or whitespace/comma-separated in one variable."""
    return [url for value in values for url in value.replace(",", " ").split()]


def _raise_open_files_limit() -> None:
    """Each connection and each hot object holds a descriptor: use all the system allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def run_edge(config: object) -> None:
    """Serve until SIGTERM or SIGINT, with heartbeats and fill when a control plane is set."""
    from cineflux.edge.control import ControlPlane
    from cineflux.edge.server import EdgeConfig, EdgeServer

    assert isinstance(config, EdgeConfig)
    server = EdgeServer(config)
    await server.start()
    control = ControlPlane(server)
    server.on_fill_request = control.request_fill
    if config.control:
        server.spawn(control.heartbeat_loop())
        server.spawn(control.plan_loop())
        if config.fill_now:
            control.request_fill()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    print(
        f"edge {config.name} ({config.site}) listening on {config.host}:{server.port}", flush=True
    )
    await stopping.wait()
    await server.stop()
    logger.info("edge stopped")


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
app.command()(edge)


def main() -> None:
    """Entry point of ``python -m cineflux.edge``."""
    app()
