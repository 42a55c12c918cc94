"""What every CLI sub-app shares: building the platform, failing with one line."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

from cineflux.config import Settings
from cineflux.platform import Platform, build_platform

console = Console()
errors = Console(stderr=True)


def load_platform() -> Platform:
    """The platform from ``CINEFLUX_*`` settings, with its schema upgraded."""
    return build_platform(Settings())


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one line to stderr and exit non-zero."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
