"""``cineflux cdn``: signed paths, the edge keys, capacity plans (and the README's), errors."""

from __future__ import annotations

import json
import re
import shlex
import time
from pathlib import Path

import pytest

from cineflux.edge import tokens
from tests.cli.conftest import cineflux

README = Path(__file__).resolve().parents[2] / "README.md"


def test_sign_prints_a_path_the_edge_keys_verify(env: dict[str, str]) -> None:
    keys_run = cineflux(env, "cdn", "keys")
    assert keys_run.returncode == 0, keys_run.stderr
    assert "secret" in keys_run.stderr  # the warning goes to stderr, the keys alone to stdout
    keys = tokens.parse_keys(keys_run.stdout.strip())
    assert list(keys) == ["k0"]
    before = time.time()
    run = cineflux(
        env, "cdn", "sign", "/titles/abc/manifest.mpd", "--session", "ops-1", "--ttl", "120"
    )
    assert run.returncode == 0, run.stderr
    token, path = tokens.split_signed_path(run.stdout.strip())
    assert path == "/titles/abc/manifest.mpd"
    claims = tokens.verify_token(token, keys=keys, path=path, now=time.time())
    assert claims.session_id == "ops-1"
    assert before + 119 <= claims.expires <= time.time() + 121
    with pytest.raises(tokens.OutsidePrefix):  # exactly that path, nothing next to it
        tokens.verify_token(token, keys=keys, path="/titles/abc/other.m4s", now=time.time())


def test_sign_with_a_prefix_opens_the_whole_package(env: dict[str, str]) -> None:
    env = {**env, "CINEFLUX_EDGE_TOKEN_KEYS": "ops:" + "s" * 32 + ",old:" + "o" * 32}
    run = cineflux(
        env, "cdn", "sign", "/titles/abc/manifest.mpd", "--session", "s", "--prefix", "/titles/abc/"
    )
    assert run.returncode == 0, run.stderr
    token, _ = tokens.split_signed_path(run.stdout.strip())
    keys = {"ops": b"s" * 32}  # the first configured key signs
    claims = tokens.verify_token(token, keys=keys, path="/titles/abc/v/seg-1.m4s", now=time.time())
    assert claims.path_prefix == "/titles/abc/"


def test_sign_refuses_a_path_an_edge_would_refuse(env: dict[str, str]) -> None:
    run = cineflux(env, "cdn", "sign", "/titles/../secrets", "--session", "s")
    assert run.returncode == 1
    assert run.stderr.startswith("error:")


def test_plan_prints_the_peak_and_the_edges_per_site(env: dict[str, str]) -> None:
    run = cineflux(
        env,
        "cdn",
        "plan",
        "--subscribers",
        "2000000",
        "--peak-concurrency",
        "0.05",
        "--bitrate-mbps",
        "5",
        "--edge-gbps",
        "40",
        "--sites",
        "paris=0.75,lyon=0.25",
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    # 100,000 streams x 5 Mb/s = 500 Gb/s; 28 Gb/s per edge: Paris 375 -> 14 (+1),
    # Lyon 125 -> 5 (+1).
    assert "100,000 streams" in lines[1]
    assert lines[3].split()[2:4] == ["500.0", "Gb/s"]
    assert lines[-3].split()[:6] == ["paris", "75", "%", "375.0", "14", "15"]
    assert lines[-2].split()[:6] == ["lyon", "25", "%", "125.0", "5", "6"]
    assert lines[-1].split() == ["total", "100", "%", "500.0", "19", "21"]


def test_plan_refuses_shares_that_do_not_add_up(env: dict[str, str]) -> None:
    run = cineflux(
        env, "cdn", "plan", "--subscribers", "10", "--peak-concurrency", "0.05",
        "--bitrate-mbps", "5", "--edge-gbps", "40", "--sites", "paris=0.5",
    )  # fmt: skip
    assert run.returncode == 1
    assert "add up to 1" in run.stderr


def test_the_readme_shows_what_the_plan_command_prints(env: dict[str, str]) -> None:
    match = re.search(
        r"```console\n\$ cineflux (cdn plan [^\n]+)\n(.*?)\n```", README.read_text(), re.S
    )
    assert match, "the README's Capacity planning section shows a cdn plan run"
    run = cineflux(env, *shlex.split(match.group(1)))
    assert run.returncode == 0, run.stderr
    assert run.stdout.rstrip("\n") == match.group(2)
    assert "peak traffic       1,012.5 Gb/s = 1.01 Tb/s" in match.group(2)


def test_edges_and_fill_plans_on_a_fresh_installation(env: dict[str, str]) -> None:
    edges = cineflux(env, "cdn", "edges", "--json")
    assert edges.returncode == 0, edges.stderr
    assert json.loads(edges.stdout) == []
    plan = cineflux(env, "cdn", "fill-plan", "paris")
    assert plan.returncode == 1
    assert "no edge has registered in site 'paris'" in plan.stderr


def test_zones_checks_a_coverage_file_and_names_its_error(
    env: dict[str, str], tmp_path: Path
) -> None:
    good = Path(__file__).resolve().parents[1] / "fixtures" / "cdn" / "coverage_zones.json"
    run = cineflux(env, "cdn", "zones", str(good))
    assert run.returncode == 0, run.stderr
    assert "brussels" in run.stdout and "BE,LU" in run.stdout
    bad = tmp_path / "zones.json"
    bad.write_text('{"coverageZones": {"paris": {"network": ["192.0.2.0/33"]}}}')
    run = cineflux(env, "cdn", "zones", str(bad))
    assert run.returncode == 1
    assert "coverageZones.paris.network[0]: '192.0.2.0/33' is not a network" in run.stderr


def test_serve_refuses_to_start_on_a_broken_coverage_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "zones.json"
    bad.write_text('{"coverageZones": {"paris": {"network": ["192.0.2.0/33"]}}}')
    run = cineflux({**env, "CINEFLUX_COVERAGE_ZONES": str(bad)}, "serve", "--port", "1")
    assert run.returncode == 1
    assert "delivery network settings" in run.stderr and "192.0.2.0/33" in run.stderr
