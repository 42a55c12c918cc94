"""``cineflux billing`` as an operator runs it: a real process on a fresh database."""

from __future__ import annotations

import json

from tests.cli.conftest import cineflux


def test_operators_list_add_and_edit_plans(env: dict[str, str]) -> None:
    listed = cineflux(env, "billing", "plans", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [p["code"] for p in json.loads(listed.stdout)] == ["essentiel", "standard", "premium"]
    added = cineflux(
        env,
        "billing",
        "plans",
        "add",
        "famille",
        "--name",
        "Famille",
        "--price-cents",
        "2499",
        "--streams",
        "6",
        "--resolution",
        "uhd",
        "--downloads",
        "10",
        "--position",
        "4",
    )
    assert added.returncode == 0, added.stderr
    edited = cineflux(
        env, "billing", "plans", "edit", "famille", "--price-cents", "2299", "--withdrawn"
    )
    assert edited.returncode == 0, edited.stderr
    famille = json.loads(cineflux(env, "billing", "plans", "list", "--json").stdout)[-1]
    assert (famille["price_cents"], famille["max_resolution"], famille["available"]) == (
        2299,
        "UHD",
        False,
    )
    wrong = cineflux(
        env,
        "billing",
        "plans",
        "add",
        "x",
        "--name",
        "X",
        "--price-cents",
        "0",
        "--streams",
        "1",
        "--resolution",
        "SD",
    )
    assert wrong.returncode == 1
    assert wrong.stderr.strip().startswith("error: the monthly price must be positive")


def test_run_and_webhook_delivery_report_what_they_did(env: dict[str, str]) -> None:
    run = cineflux(env, "billing", "run", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"conflicts": 0}
    delivered = cineflux(env, "billing", "deliver-webhooks", "--json")
    assert json.loads(delivered.stdout) == {"delivered": 0}
    refused = cineflux(env, "billing", "deliver-webhooks", "--url", "file:///etc/passwd")
    assert refused.returncode == 1
