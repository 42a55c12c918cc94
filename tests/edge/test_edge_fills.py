"""Misses: one upstream fetch for many requesters, bytes streamed while they arrive, nothing
stored when the upstream dies; the cache's bound and a warm restart."""

from __future__ import annotations

import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from cineflux.edge.harness import EdgeProcess, Response, read_response, request, wait_for
from tests.edge.conftest import GatedEdge, Launch, Origin, cache_files, dead_url, signed

SEGMENT = "/titles/abc/video/720p/seg-00001.m4s"


def concurrent_gets(edge: EdgeProcess, target: str, clients: int) -> list[Response]:
    """``clients`` requests released together by a barrier."""
    barrier = threading.Barrier(clients)

    def one(_: int) -> Response:
        barrier.wait(timeout=10)
        return edge.get(target)

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, range(clients)))


def test_twenty_concurrent_misses_through_a_child_edge_are_one_fetch_at_the_parent(
    origin: Origin,
    launch: Launch,
) -> None:
    big = origin.put("/titles/abc/video/1080p/seg-00001.m4s", os.urandom(3_000_000))
    parent = launch([origin.url], name="parent")
    child = launch([parent.base_url], name="child")
    answers = concurrent_gets(child, signed(big), 20)
    assert [a.status for a in answers] == [200] * 20
    assert all(a.body == origin.objects[big] for a in answers)
    at_parent = parent.metrics()
    assert at_parent["cineflux_edge_upstream_fetches_total"] == 1
    assert at_parent['cineflux_edge_requests_total{status="200",result="miss"}'] == 1
    object_requests = [
        value
        for name, value in at_parent.items()
        if name.startswith("cineflux_edge_requests_total{") and 'result="health"' not in name
    ]
    assert sum(object_requests) == 1
    at_child = child.metrics()
    assert at_child["cineflux_edge_cache_misses_total"] == 1
    assert at_child["cineflux_edge_upstream_fetches_total"] == 1
    assert (
        at_child["cineflux_edge_coalesced_waits_total"] + at_child["cineflux_edge_cache_hits_total"]
        == 19
    )


def test_requests_arriving_during_a_fill_wait_on_it_and_the_upstream_sees_one(
    gated_edge: GatedEdge,
) -> None:
    body = os.urandom(1_000_000)
    upstream, edge = gated_edge(body, 0)
    with ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(edge.get, signed(SEGMENT)) for _ in range(20)]
        # Every request is inside the edge, waiting on the one fill, before bytes flow.
        wait_for(lambda: edge.metrics()["cineflux_edge_coalesced_waits_total"] == 19)
        upstream.release.set()
        answers = [f.result(timeout=20) for f in futures]
    assert all(a.status == 200 and a.body == body for a in answers)
    assert len(upstream.requests) == 1
    assert upstream.requests[0].startswith("/t/") and upstream.requests[0].endswith(SEGMENT)


def test_a_client_gets_the_first_bytes_before_the_upstream_has_sent_the_rest(
    gated_edge: GatedEdge,
) -> None:
    body = os.urandom(2_000_000)
    upstream, edge = gated_edge(body, 300_000)
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as sock:
        sock.sendall(f"GET {signed(SEGMENT)} HTTP/1.1\r\nHost: e\r\n\r\n".encode())
        received = b""
        while len(received) < 300_000:  # the head and the bytes the upstream has sent so far
            chunk = sock.recv(65536)
            assert chunk, "the edge closed the connection"
            received += chunk
        assert not upstream.release.is_set()
        head, _, start = received.partition(b"\r\n\r\n")
        assert b"200 OK" in head and start == body[: len(start)]
        upstream.release.set()
        rest = b""
        expected = len(body) - len(start)
        while len(rest) < expected:
            chunk = sock.recv(1 << 20)
            assert chunk
            rest += chunk
        assert start + rest == body


def test_an_upstream_dying_mid_body_cuts_the_clients_and_stores_nothing(
    gated_edge: GatedEdge,
) -> None:
    body = os.urandom(1_500_000)
    dying, edge = gated_edge(body, 200_000)
    dying.fail = True
    with socket.create_connection(("127.0.0.1", edge.port), timeout=10) as sock:
        sock.sendall(f"GET {signed(SEGMENT)} HTTP/1.1\r\nHost: e\r\n\r\n".encode())
        dying.release.set()
        try:
            answer = read_response(sock)
        except ConnectionError:
            pass  # the only acceptable end: a body cut short, never a whole wrong one
        else:
            raise AssertionError(f"a complete answer came from a broken fill: {answer.status}")
    wait_for(lambda: edge.metrics()["cineflux_edge_fills_in_flight"] == 0)
    metrics = edge.metrics()
    assert metrics['cineflux_edge_upstream_errors_total{reason="broken"}'] == 1
    assert metrics["cineflux_edge_cached_objects"] == 0
    assert metrics["cineflux_edge_disk_used_bytes"] == 0
    assert cache_files(edge) == []
    # The next request fetches again and gets the whole object.
    dying.fail = False
    again = edge.get(signed(SEGMENT))
    assert (again.status, again.body) == (200, body)
    assert len(dying.requests) == 2


def test_upstreams_are_tried_in_order_and_final_answers_pass_through_uncached(
    origin: Origin,
    launch: Launch,
) -> None:
    edge = launch([dead_url(), origin.url])
    assert edge.get(signed(SEGMENT)).body == origin.objects[SEGMENT]
    missing = edge.get(signed("/titles/abc/video/720p/seg-99999.m4s"))
    assert missing.status == 404
    assert edge.get(signed("/titles/abc/video/720p/seg-99999.m4s")).status == 404
    metrics = edge.metrics()
    assert metrics["cineflux_edge_cached_objects"] == 1
    assert metrics['cineflux_edge_upstream_errors_total{reason="status_404"}'] == 2
    nowhere = launch([dead_url()], name="isolated")
    assert nowhere.get(signed(SEGMENT)).status == 502


def test_eviction_keeps_the_disk_under_its_bound(origin: Origin, launch: Launch) -> None:
    paths = [
        origin.put(f"/titles/abc/video/480p/seg-{n:05d}.m4s", os.urandom(200_000))
        for n in range(12)
    ]
    edge = launch([origin.url], cache_size="1M")
    for path in paths:
        answer = edge.get(signed(path))
        assert answer.body == origin.objects[path]
        assert sum(p.stat().st_size for p in cache_files(edge)) <= 1024 * 1024
    metrics = edge.metrics()
    assert metrics["cineflux_edge_evictions_total"] >= 7
    assert metrics["cineflux_edge_disk_used_bytes"] == sum(
        p.stat().st_size for p in cache_files(edge)
    )
    # The latest objects are hits; the first ones were evicted and come back as misses.
    edge.get(signed(paths[-1]))
    edge.get(signed(paths[0]))
    after = edge.metrics()
    assert after["cineflux_edge_cache_hits_total"] == 1
    assert after["cineflux_edge_cache_misses_total"] == 13


def test_a_restarted_edge_serves_its_warm_cache_without_any_upstream(
    origin: Origin,
    launch: Launch,
    edges: list[EdgeProcess],
) -> None:
    first = launch([origin.url], name="warm")
    paths = list(origin.objects)
    for path in paths:
        assert first.get(signed(path)).status == 200
    first.kill()  # a crash, not a clean stop
    edges.remove(first)
    restarted = launch([dead_url()], name="warm")  # same cache directory, no upstream
    for path in paths:
        answer = restarted.get(signed(path))
        assert (answer.status, answer.body) == (200, origin.objects[path])
    metrics = restarted.metrics()
    assert metrics["cineflux_edge_cache_hits_total"] == len(paths)
    assert metrics["cineflux_edge_cache_misses_total"] == 0
    assert metrics["cineflux_edge_cached_objects"] == len(paths)


def test_an_edge_serves_while_its_control_plane_is_down(origin: Origin, launch: Launch) -> None:
    edge = launch([origin.url], extra=["--control", dead_url(), "--heartbeat-seconds", "0.1"])
    wait_for(lambda: "heartbeat failed" in edge.log.read_text())
    for _ in range(3):
        assert edge.get(signed(SEGMENT)).body == origin.objects[SEGMENT]
    assert edge.process.poll() is None
    assert request(edge.port, "/healthz").status == 200
