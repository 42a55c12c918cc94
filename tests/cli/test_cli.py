"""The ``cineflux`` command, run as a user runs it: a real process on a fresh data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cineflux.db import make_engine, schema_is_current
from tests.cli.conftest import cineflux


@pytest.mark.parametrize(
    "command",
    [[], ["demo"], ["serve"], ["db", "upgrade"], ["ingest"], ["users", "create"]],
)
def test_every_command_has_help(env: dict[str, str], command: list[str]) -> None:
    result = cineflux(env, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_db_upgrade_creates_the_database_from_nothing(env: dict[str, str]) -> None:
    if env["CINEFLUX_DATABASE_URL"].startswith("sqlite"):
        del env["CINEFLUX_DATABASE_URL"]  # the default: SQLite inside the data directory
    result = cineflux(env, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert "head" in result.stdout
    url = env.get("CINEFLUX_DATABASE_URL") or (
        f"sqlite:///{Path(env['CINEFLUX_DATA_DIR']).resolve() / 'cineflux.db'}"
    )
    engine = make_engine(url)
    try:
        assert schema_is_current(engine)
    finally:
        engine.dispose()


def test_users_create_then_duplicate_fails_cleanly(env: dict[str, str]) -> None:
    env = {**env, "CINEFLUX_NEW_USER_PASSWORD": "a long password"}
    created = cineflux(env, "users", "create", "--email", "Ana@Example.org", "--json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["email"] == "ana@example.org"
    again = cineflux(env, "users", "create", "--email", "ana@example.org")
    assert again.returncode == 1
    assert again.stderr.strip() == (
        "error: an account with the email ana@example.org already exists"
    )


def test_users_create_asks_for_the_password_when_not_given(env: dict[str, str]) -> None:
    result = cineflux(
        env, "users", "create", "--email", "b@example.org", stdin="pw-long-enough\npw-long-enough\n"
    )
    assert result.returncode == 0, result.stderr
    assert "b@example.org" in result.stdout
    assert "pw-long-enough" not in result.stdout + result.stderr


def test_ingest_publishes_a_title(env: dict[str, str], small_film: Path) -> None:
    result = cineflux(
        env, "ingest", str(small_film), "--title", "Essai", "--year", "2024", "--json"
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["name"] == "Essai" and body["renditions"] == 3
    published = Path(env["CINEFLUX_DATA_DIR"]) / "media" / "titles" / body["title_id"]
    assert (published / "master.m3u8").is_file()


def test_ingest_of_a_bad_file_fails_in_one_line_and_leaves_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    bogus = tmp_path / "film.mp4"
    bogus.write_text("not a film\n")
    result = cineflux(env, "ingest", str(bogus), "--title", "Bogus")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: cannot ingest: film.mp4: not a readable media file")
    media = Path(env["CINEFLUX_DATA_DIR"]) / "media"
    assert not (media / "titles").exists()
    assert list((media / ".staging").iterdir()) == []
