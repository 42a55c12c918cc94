"""An edge and its control plane: signed heartbeats, and proactive fill from a site's plan."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

from cineflux.edge.harness import request, wait_for
from cineflux.edge.tokens import sign_request
from tests.edge.conftest import KEY, KEY_ID, FakeControl, Launch, Origin, make_token, signed


def closed_window() -> dict[str, str]:
    """A fill window that opens six hours from now: the edge fills only when told to.

    (A fixed 02:00-06:00 made these tests fail whenever they ran inside it: the edge filled
    on its own at start.)"""
    now = datetime.now(UTC)
    start, end = now + timedelta(hours=6), now + timedelta(hours=7)
    return {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}", "timezone": "UTC"}


def plan_for(origin: Origin, paths: list[str], *, mbps: float = 1000.0) -> dict[str, object]:
    return {
        "site": "test",
        "generated_at": "2026-11-27T01:00:00+00:00",
        "window": closed_window(),
        "bandwidth_mbps": mbps,
        "items": [
            {
                "title_id": "abc",
                "score": 1.0,
                "bytes": sum(len(origin.objects[p]) for p in paths),
                "token": make_token(),
                "paths": paths,
            }
        ],
    }


def trigger_fill(port: int, key: bytes = KEY.encode()) -> int:
    """POST /admin/fill-now signed with ``key``; the edge's status."""
    signature = sign_request(
        key_id=KEY_ID, key=key, method="POST", target="/admin/fill-now", body=b"",
        at=int(time.time()),
    )  # fmt: skip
    headers = {"X-Cineflux-Edge-Signature": signature}
    return request(port, "/admin/fill-now", method="POST", headers=headers).status


def test_heartbeats_are_signed_and_report_load_and_disk(
    origin: Origin, launch: Launch, control: FakeControl
) -> None:
    edge = launch(
        [origin.url],
        name="paris-7",
        extra=["--control", control.url, "--heartbeat-seconds", "0.2", "--capacity-gbps", "40"],
    )
    wait_for(lambda: len(control.heartbeats) >= 2)
    assert control.refused == []
    beat = control.heartbeats[-1]
    assert beat["edge"] == "paris-7" and beat["site"] == "test"
    assert beat["base_url"] == edge.base_url
    assert beat["healthy"] is True
    assert beat["capacity_bps"] == 40_000_000_000
    assert beat["disk_capacity_bytes"] == 1024**3
    assert isinstance(beat["load"], float) and 0 <= beat["load"] < 1
    assert {"egress_bps", "open_connections", "disk_used_bytes"} <= set(beat)


def test_fill_now_fetches_the_planned_objects_in_order_and_they_become_hits(
    origin: Origin, launch: Launch, control: FakeControl
) -> None:
    planned = ["/titles/abc/master.m3u8", "/titles/abc/video/720p/init.mp4"]
    control.plan = plan_for(origin, planned)
    edge = launch([origin.url], extra=["--control", control.url, "--fill-now"])
    wait_for(lambda: edge.metrics()["cineflux_edge_fill_objects_total"] == 2)
    assert control.refused == []
    for path in planned:
        assert edge.get(signed(path)).body == origin.objects[path]
    metrics = edge.metrics()
    assert metrics["cineflux_edge_cache_hits_total"] == 2
    assert metrics["cineflux_edge_cache_misses_total"] == 0
    assert metrics["cineflux_edge_fill_bytes_total"] == sum(len(origin.objects[p]) for p in planned)


def test_the_admin_trigger_needs_a_signed_request(
    origin: Origin, launch: Launch, control: FakeControl
) -> None:
    control.plan = plan_for(origin, ["/titles/abc/master.m3u8"])
    edge = launch([origin.url], extra=["--control", control.url, "--heartbeat-seconds", "60"])
    assert request(edge.port, "/admin/fill-now", method="POST").status == 403
    assert trigger_fill(edge.port, key=b"not-the-key-0123456789") == 403
    assert edge.metrics()["cineflux_edge_fill_objects_total"] == 0
    assert trigger_fill(edge.port) == 202
    wait_for(lambda: edge.metrics()["cineflux_edge_fill_objects_total"] == 1)


def test_fill_keeps_to_the_bandwidth_cap(
    origin: Origin, launch: Launch, control: FakeControl
) -> None:
    paths = [
        origin.put(f"/titles/abc/audio/fr/seg-{n:05d}.m4s", os.urandom(250_000)) for n in range(8)
    ]
    control.plan = plan_for(origin, paths, mbps=8.0)  # 1 MB/s, with a one-second burst
    edge = launch([origin.url], extra=["--control", control.url, "--heartbeat-seconds", "60"])
    started = time.monotonic()
    assert trigger_fill(edge.port) == 202
    wait_for(lambda: edge.metrics()["cineflux_edge_fill_objects_total"] == 8, timeout=15)
    # 2 MB at 1 MB/s: the first 1 MB goes in the burst and the debt of the last object is
    # never waited for, so at least 0.75 s however fast the disk is.
    assert time.monotonic() - started >= 0.75


def test_fill_stops_when_the_cache_is_full_without_evicting_what_it_filled(
    origin: Origin, launch: Launch, control: FakeControl
) -> None:
    paths = [
        origin.put(f"/titles/abc/video/360p/seg-{n:05d}.m4s", os.urandom(200_000)) for n in range(8)
    ]
    control.plan = plan_for(origin, paths)
    edge = launch([origin.url], cache_size="1M", extra=["--control", control.url, "--fill-now"])
    wait_for(lambda: "fill run ended" in edge.log.read_text(), timeout=15)
    stored = int(edge.metrics()["cineflux_edge_fill_objects_total"])
    assert 3 <= stored < len(paths)
    for path in paths[:stored]:  # the first ones in plan order, all still there
        assert edge.get(signed(path)).status == 200
    metrics = edge.metrics()
    assert metrics["cineflux_edge_cache_hits_total"] == stored
    assert metrics["cineflux_edge_evictions_total"] == 0


def test_a_plan_refused_at_start_is_asked_again_after_the_next_heartbeat(
    origin: Origin, launch: Launch, control: FakeControl
) -> None:
    # A new edge asks for its site's plan before its first heartbeat registered the site:
    # the control plane answers 404. It must not wait for the next poll (10 minutes).
    launch([origin.url], extra=["--control", control.url, "--heartbeat-seconds", "0.2"])
    assert control.plan is None
    wait_for(lambda: control.plan_requests >= 3, timeout=15)
    assert control.refused == []
