"""Edge rotation: missed heartbeats, unhealthy and overloaded edges, and hysteresis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cineflux.delivery.health import (
    COOLING_DOWN,
    MISSED_HEARTBEATS,
    OVERLOADED,
    SERVING,
    UNHEALTHY,
    HealthPolicy,
    Rotation,
    effective_load,
    rotation_after_heartbeat,
    rotation_at,
)

T0 = datetime(2026, 1, 15, 20, 0, tzinfo=UTC)
POLICY = HealthPolicy(heartbeat_seconds=10, missed_heartbeats=3, overload=0.9, recover_below=0.75)


def beat(current: Rotation | None, seconds: int, *, load: float, healthy: bool = True) -> Rotation:
    return rotation_after_heartbeat(
        current, healthy=healthy, load=load, at=T0 + timedelta(seconds=seconds), policy=POLICY
    )


def test_a_new_healthy_idle_edge_enters_rotation() -> None:
    assert beat(None, 0, load=0.1) == Rotation(True, T0, SERVING)


def test_a_new_edge_between_the_thresholds_waits_for_its_load_to_fall() -> None:
    first = beat(None, 0, load=0.8)
    assert (first.in_rotation, first.reason) == (False, COOLING_DOWN)
    assert beat(first, 10, load=0.7).in_rotation


def test_an_edge_reporting_itself_unhealthy_leaves_at_once() -> None:
    serving = beat(None, 0, load=0.1)
    out = beat(serving, 10, load=0.1, healthy=False)
    assert out == Rotation(False, T0 + timedelta(seconds=10), UNHEALTHY)


def test_overload_takes_an_edge_out_and_it_returns_only_under_the_lower_threshold() -> None:
    rotation = beat(None, 0, load=0.5)
    rotation = beat(rotation, 10, load=0.89)
    assert rotation.in_rotation  # below the overload threshold: stays
    rotation = beat(rotation, 20, load=0.9)
    assert rotation == Rotation(False, T0 + timedelta(seconds=20), OVERLOADED)
    for seconds, load in ((30, 0.85), (40, 0.8), (50, 0.75)):
        rotation = beat(rotation, seconds, load=load)
        assert not rotation.in_rotation, f"load {load} is not under the return threshold"
    # Out since it overloaded, not since the last heartbeat.
    assert rotation.since == T0 + timedelta(seconds=20)
    rotation = beat(rotation, 60, load=0.74)
    assert rotation == Rotation(True, T0 + timedelta(seconds=60), SERVING)
    assert beat(rotation, 70, load=0.85).in_rotation  # hysteresis: no flapping back out


def test_keeping_rotation_keeps_its_start() -> None:
    rotation = beat(None, 0, load=0.1)
    for seconds in (10, 20, 30):
        rotation = beat(rotation, seconds, load=0.3)
    assert rotation.since == T0


def test_missed_heartbeats_take_an_edge_out_when_read() -> None:
    serving = Rotation(True, T0, SERVING)
    limit = T0 + timedelta(seconds=30)
    assert rotation_at(serving, last_heartbeat_at=T0, now=limit, policy=POLICY) == serving
    late = rotation_at(
        serving, last_heartbeat_at=T0, now=limit + timedelta(seconds=1), policy=POLICY
    )
    assert late == Rotation(False, limit, MISSED_HEARTBEATS)


def test_a_silent_edge_already_out_keeps_when_it_went_out() -> None:
    overloaded = Rotation(False, T0 - timedelta(minutes=5), OVERLOADED)
    now = T0 + timedelta(minutes=1)
    found = rotation_at(overloaded, last_heartbeat_at=T0, now=now, policy=POLICY)
    assert found == Rotation(False, T0 - timedelta(minutes=5), MISSED_HEARTBEATS)


def test_an_edge_back_from_silence_must_be_under_the_lower_threshold() -> None:
    serving = Rotation(True, T0, SERVING)
    back_at = T0 + timedelta(minutes=2)
    silent = rotation_at(serving, last_heartbeat_at=T0, now=back_at, policy=POLICY)
    assert not beat(silent, 120, load=0.8).in_rotation
    assert beat(silent, 120, load=0.2) == Rotation(True, back_at, SERVING)


def test_the_link_counts_as_load_when_it_is_fuller_than_reported() -> None:
    assert effective_load(0.2, egress_bps=95, capacity_bps=100) == 0.95
    assert effective_load(0.6, egress_bps=10, capacity_bps=100) == 0.6
    assert effective_load(0.3, egress_bps=10, capacity_bps=0) == 0.3


@pytest.mark.parametrize(("overload", "recover_below"), [(0.8, 0.8), (0.7, 0.8), (0.9, 0.0)])
def test_the_return_threshold_must_be_under_the_overload_threshold(
    overload: float, recover_below: float
) -> None:
    with pytest.raises(ValueError, match="under the overload"):
        HealthPolicy(overload=overload, recover_below=recover_below)
