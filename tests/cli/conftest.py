"""CLI fixtures: a fresh installation's environment, and running the command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import fresh_database


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment of a fresh installation: empty data directory, empty database."""
    with fresh_database(tmp_path) as url:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("CINEFLUX_")}
        environment.update(
            CINEFLUX_DATA_DIR=str(tmp_path / "data"),
            CINEFLUX_DATABASE_URL=url,
            COLUMNS="200",
        )
        yield environment


def cineflux(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``cineflux ARGS`` and capture what it prints."""
    return subprocess.run(
        [sys.executable, "-m", "cineflux", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
