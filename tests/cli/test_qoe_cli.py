"""``cineflux qoe report``: percentiles of known plays, as a table and as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from cineflux.accounts import service as accounts
from cineflux.clock import FrozenClock
from cineflux.db import make_engine, make_session_factory, transaction, upgrade_schema
from cineflux.telemetry import service as telemetry
from cineflux.telemetry.service import BatchIn, EventIn
from tests.cli.conftest import cineflux

TITLE = "11111111-1111-4111-8111-111111111111"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1"


def seed(url: str) -> None:
    """Ten desktop plays on edge1 (startups 100..1000 ms, the last one stalled for 10%),
    and two phone plays on edge2 an hour later (startups 3000 and 5000 ms, no stall)."""
    upgrade_schema(url)
    engine = make_engine(url)
    clock = FrozenClock(datetime(2026, 1, 15, 12, 5, tzinfo=UTC))
    try:
        with transaction(make_session_factory(engine)) as session:
            user_id = accounts.create_user(
                session, clock=clock, email="ops@example.org", password="a long test password"
            ).id

            def play(session_id: str, startup: int, stall: int, edge: str, ua: str) -> None:
                events = [
                    EventIn(kind="startup", duration_ms=startup),
                    EventIn(kind="played", duration_ms=10_000 - stall),
                ]
                if stall:
                    events.append(EventIn(kind="rebuffer", duration_ms=stall))
                telemetry.record_batch(
                    session,
                    clock=clock,
                    user_id=user_id,
                    user_agent=ua,
                    batch=BatchIn(session_id=session_id, title_id=TITLE, edge=edge, events=events),
                )

            for n in range(1, 11):
                play(f"desk-{n:04d}", n * 100, 1000 if n == 10 else 0, "edge1.example", DESKTOP)
            clock.advance(timedelta(hours=1))
            play("phone-0001", 3000, 0, "edge2.example", PHONE)
            play("phone-0002", 5000, 0, "edge2.example", PHONE)
    finally:
        engine.dispose()


def test_report_by_edge_prints_startup_and_rebuffer_percentiles(env: dict[str, str]) -> None:
    seed(env["CINEFLUX_DATABASE_URL"])
    run = cineflux(env, "qoe", "report", "--since", "2026-01-15T00:00", "--by", "edge")
    assert run.returncode == 0, run.stderr
    rows = {
        cells[0]: cells[1:]
        for line in run.stdout.splitlines()
        if line.startswith("│")
        for cells in [[cell.strip() for cell in line.strip("│").split("│")]]
    }
    # sessions, startup p50 p90 p99 (ms), rebuffer ratio p50 p90 p99, switches, errors
    assert rows == {
        "edge1.example": ["10", "500", "900", "1000", "0.00%", "0.00%", "10.00%", "0", "0"],
        "edge2.example": ["2", "3000", "5000", "5000", "0.00%", "0.00%", "0.00%", "0", "0"],
    }


def test_report_as_json_by_device_and_by_hour(env: dict[str, str]) -> None:
    seed(env["CINEFLUX_DATABASE_URL"])
    run = cineflux(env, "qoe", "report", "--since", "2026-01-15T00:00", "--by", "device", "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    groups = {g["key"]: g for g in report["groups"]}
    assert groups["desktop"]["sessions"] == 10
    assert groups["desktop"]["startup_ms"] == {"p50": 500, "p90": 900, "p99": 1000}
    assert groups["desktop"]["rebuffer_ratio"] == {"p50": 0, "p90": 0, "p99": 0.1}
    assert groups["mobile"]["startup_ms"] == {"p50": 3000, "p90": 5000, "p99": 5000}
    assert groups["mobile"]["rebuffer_ratio"] == {"p50": 0, "p90": 0, "p99": 0}

    hours = cineflux(env, "qoe", "report", "--since", "2026-01-15T00:00", "--by", "hour", "--json")
    keys = [g["key"] for g in json.loads(hours.stdout)["groups"]]
    assert keys == ["2026-01-15T12:00Z", "2026-01-15T13:00Z"]


def test_report_refuses_bad_options_in_one_line(env: dict[str, str]) -> None:
    bad_group = cineflux(env, "qoe", "report", "--by", "country")
    assert bad_group.returncode == 1
    assert bad_group.stderr.startswith("error:") and "--by" in bad_group.stderr
    bad_since = cineflux(env, "qoe", "report", "--since", "yesterday")
    assert bad_since.returncode == 1
    assert "--since" in bad_since.stderr


def test_report_of_nothing_says_so(env: dict[str, str]) -> None:
    run = cineflux(env, "qoe", "report")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("No QoE reports since")


def test_prune_deletes_events_past_retention_and_keeps_the_report(env: dict[str, str]) -> None:
    seed(env["CINEFLUX_DATABASE_URL"])  # plays of 2026-01-15, long past 30 days
    run = cineflux(env, "qoe", "prune", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["deleted"] == 10 * 2 + 1 + 2 * 2  # startup, played, stall
    again = cineflux(env, "qoe", "prune", "--older-than", "30d", "--json")
    assert json.loads(again.stdout)["deleted"] == 0
    report = cineflux(env, "qoe", "report", "--since", "2026-01-15T00:00", "--json")
    assert {g["sessions"] for g in json.loads(report.stdout)["groups"]} == {12}  # rollups stay


def test_prune_refuses_a_retention_in_the_future(env: dict[str, str]) -> None:
    run = cineflux(env, "qoe", "prune", "--older-than", "2999-01-01")
    assert run.returncode == 1
    assert "back in time" in run.stderr
