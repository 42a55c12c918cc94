"""The ``cineflux`` command loads a domain's commands only when one of them is named."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.core import TyperGroup
from typer.testing import CliRunner

from cineflux.cli import LAZY_COMMANDS, app, load_command


def test_starting_the_command_imports_no_domain_commands() -> None:
    modules = sorted({module for module, _attribute in LAZY_COMMANDS.values()})
    probe = f"import sys, cineflux.cli; print(','.join(m for m in {modules!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""


def test_the_command_list_names_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    listed = {line.split()[1] for line in result.output.splitlines() if line.startswith("│ ")}
    assert set(LAZY_COMMANDS) | {"serve", "demo", "db"} <= listed


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_each_domain_command_loads_under_its_name_with_its_help(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    is_group = isinstance(command, TyperGroup)
    assert is_group == (name not in {"ingest", "worker", "edge"})
    if is_group:
        assert command.commands, f"{name} has no sub-commands"
    result = CliRunner().invoke(app, [name, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert f"{name} [OPTIONS]" in result.output
    assert "--install-completion" not in result.output  # the top level's option only
