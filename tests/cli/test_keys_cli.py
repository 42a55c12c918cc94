"""``cineflux keys``: rotating the master key that wraps content keys at rest."""

from __future__ import annotations

from datetime import UTC, datetime

from cineflux.clock import FrozenClock
from cineflux.config import Settings
from cineflux.db import make_engine, make_session_factory, transaction, upgrade_schema
from cineflux.protection.keystore import DatabaseKeyStore, MasterKeys
from tests.cli.conftest import cineflux
from tests.factories import make_title

OLD = "2025:" + "11" * 32
NEW = "2026:" + "22" * 32
GONE = "2024:" + "33" * 32


def seed(url: str, titles: dict[str, str | MasterKeys]) -> None:
    """Encrypted titles, by name, each keyed under the given master keys."""
    upgrade_schema(url)
    engine = make_engine(url)
    clock = FrozenClock(datetime(2026, 11, 1, 12, tzinfo=UTC))
    try:
        with transaction(make_session_factory(engine)) as session:
            for name, master in titles.items():
                title = make_title(session, clock, name)
                keys = master if isinstance(master, MasterKeys) else MasterKeys.parse(master)
                DatabaseKeyStore(keys).create_title_keys(
                    session, title_id=title.id, now=clock.now()
                )
    finally:
        engine.dispose()


def test_rewrap_moves_every_key_under_the_new_master_key(env: dict[str, str]) -> None:
    seed(env["CINEFLUX_DATABASE_URL"], {"Un": OLD, "Deux": OLD})
    env["CINEFLUX_CONTENT_MASTER_KEYS"] = f"{NEW},{OLD}"
    run = cineflux(env, "keys", "rewrap", "--batch", "3")
    assert run.returncode == 0, run.stderr
    assert "4 content keys re-wrapped under master key 2026." in run.stdout
    status = cineflux(env, "keys", "status")
    assert status.returncode == 0, status.stderr
    assert [line.split() for line in status.stdout.splitlines()][:2] == [
        ["2026", "current", "4", "content", "keys"],
        ["2025", "older", "0", "content", "keys"],
    ]
    # The old master key is no longer needed: every key opens under the new one alone.
    env["CINEFLUX_CONTENT_MASTER_KEYS"] = NEW
    assert cineflux(env, "keys", "rewrap").returncode == 0


def test_setting_master_keys_keeps_keys_derived_from_the_secret_key_playable(
    env: dict[str, str],
) -> None:
    env["CINEFLUX_SECRET_KEY"] = "a secret key of this installation, long enough"
    settings = Settings(
        database_url=env["CINEFLUX_DATABASE_URL"],
        secret_key=env["CINEFLUX_SECRET_KEY"],
        data_dir=env["CINEFLUX_DATA_DIR"],
    )
    derived = MasterKeys.from_settings(settings)  # no master keys set: derived from it
    seed(env["CINEFLUX_DATABASE_URL"], {"D'avant": derived})
    env["CINEFLUX_CONTENT_MASTER_KEYS"] = NEW
    run = cineflux(env, "keys", "rewrap")
    assert run.returncode == 0, run.stderr
    assert "2 content keys re-wrapped under master key 2026." in run.stdout


def test_rewrap_names_keys_under_a_master_key_no_longer_configured(env: dict[str, str]) -> None:
    seed(env["CINEFLUX_DATABASE_URL"], {"Perdu": GONE, "Gardé": OLD})
    env["CINEFLUX_CONTENT_MASTER_KEYS"] = f"{NEW},{OLD}"
    run = cineflux(env, "keys", "rewrap")
    assert run.returncode == 1
    assert "2 content keys re-wrapped under master key 2026." in run.stdout
    assert "2 content keys are wrapped under master keys" in run.stderr
    status = [line.split() for line in cineflux(env, "keys", "status").stdout.splitlines()]
    assert ["2024", "MISSING", "2", "content", "keys"] in status
