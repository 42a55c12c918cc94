"""Edge benchmark: our edge against nginx on 2 MB segments, same files, same machine.

Hits: both servers answer from the same 2 MB CMAF-sized files already on disk and in the page
cache; ours checks a signed token on every request (``/t/<token>/<path>``), nginx serves the
plain files (sendfile on, tcp_nopush, keep-alive, open_file_cache, access log off on both,
one worker process each, as our edge is one process). The load generator is wrk (same
threads, connections and duration for both, cycling over the segments). Sides run
alternately, several rounds each, since the machine is shared.

Measured:
- throughput: responses/s and bytes/s from wrk; target ours/nginx >= 1.0 (median rounds);
- time to first byte: wrk reports whole-response latency only, so a probe of our own sends
  one request at a time on a keep-alive connection *while wrk loads the server* and times
  the first byte of each answer (the status line); target p99 ours/nginx <= 1.5.
- misses with coalescing: a cold edge in front of a parent edge (file origin), many clients
  asking for the same cold objects at once; counted: the parent's requests per object
  (1 means perfect coalescing) and the throughput. Baseline in the same run: nginx as a
  caching proxy (proxy_cache with proxy_cache_lock on) in front of the same parent.

    python bench/edge.py [--rounds 5] [--seconds 6] [--connections 32] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cineflux.edge.harness import EdgeProcess, free_port, read_response, start_edge
from cineflux.edge.tokens import sign_token

RESULTS = Path(__file__).parent / "results" / "edge.json"
SEGMENT_BYTES = 2 * 1000 * 1000
SEGMENTS = 24
COLD_OBJECTS = 12
COLD_CLIENTS = 24
KEY_ID, KEY = "bench", "bench-secret-0123456789abcdef"
PREFIX = "/titles/bench/"
NGINX_SETTINGS = {
    "worker_processes": 1,
    "sendfile": "on",
    "tcp_nopush": "on",
    "tcp_nodelay": "on",
    "keepalive_requests": 1000000,
    "keepalive_timeout": "65s",
    "open_file_cache": "max=1000 inactive=60s",
    "access_log": "off",
}
EDGE_SETTINGS = {
    "processes": 1,
    "event_loop": "asyncio default (selector, epoll)",
    "sendfile": "os.sendfile from kept-open descriptors, head sent with MSG_MORE",
    "token_check": "HMAC-SHA256 verify on every request",
    "access_log": "off",
}


def segment_paths() -> list[str]:
    """The object paths of the hit test."""
    return [f"{PREFIX}video/1080p/seg-{n:05d}.m4s" for n in range(1, SEGMENTS + 1)]


def cold_paths() -> list[str]:
    """The object paths of the miss test (not in any cache when it starts)."""
    return [f"{PREFIX}video/720p/seg-{n:05d}.m4s" for n in range(1, COLD_OBJECTS + 1)]


def write_origin(root: Path) -> None:
    """Random 2 MB segments (incompressible, like video)."""
    for path in segment_paths() + cold_paths():
        file = root / path.lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(os.urandom(SEGMENT_BYTES))


def nginx_config(root: Path, origin: Path, port: int, proxy_to: str | None = None) -> str:
    """nginx serving ``origin``'s files (or caching ``proxy_to``) with the bench's settings."""
    s = NGINX_SETTINGS
    if proxy_to is None:
        location = f"root {origin};"
    else:
        location = (
            f"proxy_pass {proxy_to}; proxy_cache edge; proxy_cache_lock on; "
            "proxy_cache_lock_timeout 30s; proxy_cache_valid 200 1h; "
            # Our answers say "private" (signed content); nginx must cache them anyway.
            "proxy_ignore_headers Cache-Control Expires Set-Cookie; "
            'proxy_http_version 1.1; proxy_set_header Connection "";'
        )
    cache_zone = (
        f"proxy_cache_path {root}/proxy-cache levels=1:2 keys_zone=edge:10m max_size=1g;"
        if proxy_to
        else ""
    )
    temp = " ".join(
        f"{name}_temp_path {root}/{name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
worker_processes {s["worker_processes"]};
daemon off;
error_log {root}/error.log warn;
pid {root}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log {s["access_log"]};
  sendfile {s["sendfile"]}; tcp_nopush {s["tcp_nopush"]}; tcp_nodelay {s["tcp_nodelay"]};
  keepalive_requests {s["keepalive_requests"]}; keepalive_timeout {s["keepalive_timeout"]};
  open_file_cache {s["open_file_cache"]};
  {temp}
  {cache_zone}
  server {{ listen 127.0.0.1:{port}; location / {{ {location} }} }}
}}
"""


@contextmanager
def running_nginx(
    root: Path, origin: Path, proxy_to: str | None = None
) -> Iterator[tuple[int, int]]:
    """nginx started with its own config in ``root``; yields its port and master pid."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = root / "nginx.conf"
    config.write_text(nginx_config(root, origin, port, proxy_to))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    process = subprocess.Popen([nginx, "-c", str(config), "-p", str(root)], stderr=subprocess.PIPE)
    try:
        wait_listening(port, process)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Poll until ``port`` accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read() if process.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its children processes (nginx's workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(child) for child in children.read_text().split()]
    for each in pids:
        fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def wrk_script(root: Path, targets: list[str]) -> Path:
    """A wrk Lua script cycling over ``targets``."""
    script = root / f"paths-{len(targets)}-{abs(hash(targets[0]))}.lua"
    quoted = ", ".join(json.dumps(t) for t in targets)
    script.write_text(
        f"local paths = {{{quoted}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        '  return wrk.format("GET", paths[i])\nend\n'
    )
    return script


def run_wrk(port: int, script: Path, args: argparse.Namespace) -> dict[str, float]:
    """One wrk run: responses/s, bytes/s, and its whole-response latency percentiles."""
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.seconds}s",
        "--latency", "-s", str(script), f"http://127.0.0.1:{port}/",
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures: dict[str, float] = {}
    for line in output.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            figures["responses_per_s"] = float(parts[1])
        elif line.startswith("Transfer/sec:"):
            figures["bytes_per_s"] = _bytes(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            figures[f"wrk_latency_p{parts[0][:-1]}_ms"] = _ms(parts[1])
        elif "Non-2xx" in line or "Socket errors" in line:
            figures["errors_line"] = 1.0
            print(f"  wrk: {line.strip()}", file=sys.stderr)
    return figures


def _bytes(text: str) -> float:
    units = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
    for unit in ("GB", "MB", "KB", "B"):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * units[unit]
    return float(text)


def _ms(text: str) -> float:
    for unit, factor in (("ms", 1.0), ("us", 0.001), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * factor
    return float(text)


def probe_ttfb(port: int, targets: list[str], stop: threading.Event, out: list[float]) -> None:
    """Time to the first response byte, one request at a time on a keep-alive connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        index = 0
        while not stop.is_set():
            target = targets[index % len(targets)]
            index += 1
            request = f"GET {target} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
            started = time.perf_counter()
            sock.sendall(request)
            first = sock.recv(1, socket.MSG_PEEK)
            out.append((time.perf_counter() - started) * 1000)
            if not first:
                raise ConnectionError("server closed the probe's connection")
            response = read_response(sock)
            assert response.status == 200 and len(response.body) == SEGMENT_BYTES
            time.sleep(0.01)  # a viewer's pace, not a second load generator


def hit_round(
    port: int, pid: int, targets: list[str], root: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """wrk at full load with the TTFB probe alongside; the server's CPU time per response."""
    script = wrk_script(root, targets)
    cpu_before = cpu_seconds(pid)
    stop = threading.Event()
    samples: list[float] = []
    probe = threading.Thread(target=probe_ttfb, args=(port, targets, stop, samples), daemon=True)
    probe.start()
    figures: dict[str, Any] = dict(run_wrk(port, script, args))
    responses = figures["responses_per_s"] * args.seconds
    figures["server_cpu_ms_per_response"] = round(
        (cpu_seconds(pid) - cpu_before) * 1000 / max(responses, 1), 4
    )
    stop.set()
    probe.join(timeout=30)
    samples.sort()
    figures["ttfb_samples"] = len(samples)
    figures["ttfb_p50_ms"] = round(percentile(samples, 50), 3)
    figures["ttfb_p99_ms"] = round(percentile(samples, 99), 3)
    return figures


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def fetch_all(port: int, targets: list[str]) -> int:
    """One client fetching ``targets`` in order on one keep-alive connection; bytes read."""
    total = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        for target in targets:
            sock.sendall(f"GET {target} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
            response = read_response(sock)
            assert response.status == 200, response.status
            total += len(response.body)
    return total


def miss_round(port: int, targets: list[str]) -> dict[str, float]:
    """COLD_CLIENTS clients asking for the same cold objects at once: wall time, throughput."""
    started = time.perf_counter()
    with ThreadPoolExecutor(COLD_CLIENTS) as pool:
        total = sum(pool.map(lambda _: fetch_all(port, targets), range(COLD_CLIENTS)))
    elapsed = time.perf_counter() - started
    return {"seconds": round(elapsed, 3), "bytes_per_s": total / elapsed, "bytes": total}


def parent_requests(parent: EdgeProcess) -> float:
    """Object requests the parent edge has answered so far."""
    return sum(
        value
        for name, value in parent.metrics().items()
        if name.startswith("cineflux_edge_requests_total")
        and 'result="' in name
        and ('result="hit"' in name or 'result="miss"' in name or 'result="coalesced"' in name)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    for tool in ("nginx", "wrk"):
        if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists()):
            print(f"{tool} is needed: apt-get install -y nginx wrk (make system-deps)")
            return 1
    keys = f"{KEY_ID}:{KEY}"
    token = sign_token(
        key_id=KEY_ID, key=KEY.encode(), path_prefix=PREFIX, session_id="bench",
        expires=int(time.time()) + 24 * 3600,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="cineflux-edge-bench-") as tmp:
        root = Path(tmp)
        root.chmod(0o755)  # nginx's workers run as www-data and read the same files
        origin = root / "origin"
        write_origin(origin)
        ours_targets = [f"/t/{token}{path}" for path in segment_paths()]
        plain_targets = segment_paths()
        edge = start_edge(
            keys=keys, upstreams=[f"file://{origin}"], cache_dir=root / "edge-cache",
            cache_size="4G", name="bench-edge",
        )  # fmt: skip
        rounds: dict[str, list[dict[str, Any]]] = {"ours": [], "nginx": []}
        try:
            for target in ours_targets:  # warm our cache (nginx reads the same files)
                assert edge.get(target).status == 200
            with running_nginx(root / "nginx", origin) as (nginx_port, nginx_pid):
                for target in plain_targets:
                    fetch_all(nginx_port, [target])
                for round_number in range(args.rounds):
                    order = ["ours", "nginx"] if round_number % 2 == 0 else ["nginx", "ours"]
                    for side in order:
                        if side == "ours":
                            figures = hit_round(
                                edge.port, edge.process.pid, ours_targets, root, args
                            )
                        else:
                            figures = hit_round(nginx_port, nginx_pid, plain_targets, root, args)
                        rounds[side].append(figures)
                        print(f"round {round_number + 1} {side}: {figures}", file=sys.stderr)
            edge_misses = edge.metrics().get("cineflux_edge_cache_misses_total", 0.0)
        finally:
            edge.stop()
        misses = run_miss_bench(root, origin, keys, token)
    hits = {side: summarise(rounds[side]) for side in rounds}
    throughput_ratio = hits["ours"]["bytes_per_s"] / hits["nginx"]["bytes_per_s"]
    ttfb_ratio = hits["ours"]["ttfb_p99_ms"] / hits["nginx"]["ttfb_p99_ms"]
    targets = [
        {"name": "hit throughput ours/nginx (2 MB segments)", "value": round(throughput_ratio, 3),
         "op": ">=", "target": 1.0, "unit": "ratio"},
        {"name": "hit p99 time to first byte ours/nginx under load", "value": round(ttfb_ratio, 3),
         "op": "<=", "target": 1.5, "unit": "ratio"},
        {"name": "miss: parent requests per cold object (coalescing)",
         "value": misses["ours"]["parent_requests_per_object"], "op": "<=", "target": 1.0,
         "unit": "requests"},
    ]  # fmt: skip
    table = Table(title=f"Edge vs nginx, {SEGMENTS} x 2 MB segments, {args.rounds} rounds")
    for column in ("measure", "ours", "nginx", "ratio", "target"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    table.add_row(
        "hits: MB/s (median)",
        f"{hits['ours']['bytes_per_s'] / 1e6:.0f}",
        f"{hits['nginx']['bytes_per_s'] / 1e6:.0f}",
        f"{throughput_ratio:.3f}",
        ">= 1.0",
    )
    table.add_row(
        "hits: responses/s (median)",
        f"{hits['ours']['responses_per_s']:.0f}",
        f"{hits['nginx']['responses_per_s']:.0f}",
        "",
        "",
    )
    table.add_row(
        "hits: TTFB p99 ms (probe)",
        f"{hits['ours']['ttfb_p99_ms']:.2f}",
        f"{hits['nginx']['ttfb_p99_ms']:.2f}",
        f"{ttfb_ratio:.3f}",
        "<= 1.5",
    )
    table.add_row(
        "hits: TTFB p50 ms (probe)",
        f"{hits['ours']['ttfb_p50_ms']:.2f}",
        f"{hits['nginx']['ttfb_p50_ms']:.2f}",
        "",
        "",
    )
    table.add_row(
        "hits: wrk whole-response p99 ms",
        f"{hits['ours']['wrk_latency_p99_ms']:.1f}",
        f"{hits['nginx']['wrk_latency_p99_ms']:.1f}",
        "",
        "",
    )
    cpu = {side: hits[side]["server_cpu_ms_per_response"] for side in hits}
    table.add_row(
        "hits: server CPU ms / response",
        f"{cpu['ours']:.3f}",
        f"{cpu['nginx']:.3f}",
        f"{cpu['ours'] / cpu['nginx']:.3f}",
        "",
    )
    table.add_row(
        "misses: parent requests / object",
        f"{misses['ours']['parent_requests_per_object']:.2f}",
        f"{misses['nginx']['parent_requests_per_object']:.2f}",
        "",
        "<= 1",
    )
    table.add_row(
        "misses: MB/s to clients",
        f"{misses['ours']['bytes_per_s'] / 1e6:.0f}",
        f"{misses['nginx']['bytes_per_s'] / 1e6:.0f}",
        f"{misses['ours']['bytes_per_s'] / misses['nginx']['bytes_per_s']:.3f}",
        "",
    )
    Console().print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "bench": "edge",
                "targets": targets,
                "segment_bytes": SEGMENT_BYTES,
                "segments": SEGMENTS,
                "load": {"tool": "wrk", "threads": args.threads, "connections": args.connections,
                         "seconds": args.seconds, "rounds": args.rounds, "order": "alternating"},
                "ttfb_measure": "time from sending a GET to the first byte of the answer, one "
                "request at a time on a keep-alive connection, while wrk loads the server; wrk's "
                "own latency figures are whole-response times",
                "machine": {"cpus": os.cpu_count(), "shared": True},
                "nginx_settings": NGINX_SETTINGS,
                "edge_settings": EDGE_SETTINGS,
                "hits": hits,
                "hit_rounds": rounds,
                "edge_misses_during_hit_test": edge_misses,
                "misses": misses,
            },
            indent=2,
        )
        + "\n"
    )  # fmt: skip
    return 0


def summarise(rounds: list[dict[str, Any]]) -> dict[str, float]:
    """Medians over rounds."""
    keys = (
        "responses_per_s",
        "bytes_per_s",
        "ttfb_p50_ms",
        "ttfb_p99_ms",
        "wrk_latency_p99_ms",
        "server_cpu_ms_per_response",
    )
    return {key: round(statistics.median(r[key] for r in rounds), 3) for key in keys}


def run_miss_bench(root: Path, origin: Path, keys: str, token: str) -> dict[str, dict[str, float]]:
    """Cold objects through ours and through nginx proxy_cache, both in front of one parent."""
    targets = [f"/t/{token}{path}" for path in cold_paths()]
    parent = start_edge(
        keys=keys, upstreams=[f"file://{origin}"], cache_dir=root / "parent-cache",
        cache_size="4G", name="bench-parent",
    )  # fmt: skip
    results: dict[str, dict[str, float]] = {}
    try:
        for target in targets:  # the parent holds them: the test is the child's coalescing
            assert parent.get(target).status == 200
        before = parent_requests(parent)
        child = start_edge(
            keys=keys, upstreams=[parent.base_url], cache_dir=root / "child-cache",
            cache_size="4G", name="bench-child",
        )  # fmt: skip
        try:
            figures = miss_round(child.port, targets)
        finally:
            child.stop()
        after = parent_requests(parent)
        figures["parent_requests_per_object"] = round((after - before) / len(targets), 3)
        results["ours"] = figures
        with running_nginx(root / "nginx-proxy", origin, proxy_to=parent.base_url) as (port, _):
            figures = miss_round(port, targets)
        figures["parent_requests_per_object"] = round(
            (parent_requests(parent) - after) / len(targets), 3
        )
        results["nginx"] = figures
    finally:
        parent.stop()
    return results


if __name__ == "__main__":
    sys.exit(main())
