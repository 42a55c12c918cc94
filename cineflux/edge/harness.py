"""Edges as child processes, and a raw HTTP/1.1 client: for tests, benches and local trials.

The client writes request targets byte for byte (no URL normalisation, unlike curl or
urllib), so path tricks reach the edge exactly as an attacker would send them.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cineflux.edge.metrics import parse_exposition


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Response:
    """A parsed HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes


def read_response(sock: socket.socket, *, head_only: bool = False) -> Response:
    """One response from ``sock`` (Content-Length framed; no body for HEAD, 204, 304)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed before the head ({len(data)} bytes)")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ")[1])
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = 0 if head_only or status in (204, 304) else int(headers.get("content-length", "0"))
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(min(1 << 20, length - len(body)))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(body)} of {length} body bytes")
        body += chunk
    return Response(status, headers, bytes(body[:length]))


def request(
    port: int,
    target: str | bytes,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    host: str = "127.0.0.1",
    timeout: float = 10.0,
) -> Response:
    """One request on a fresh connection, the target sent exactly as given."""
    raw_target = target if isinstance(target, bytes) else target.encode("latin-1")
    lines = [f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    data = method.encode() + b" " + raw_target + b" HTTP/1.1\r\n"
    data += ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_response(sock, head_only=method == "HEAD")


@dataclass
class EdgeProcess:
    """A running ``python -m cineflux edge``."""

    process: subprocess.Popen[bytes]
    port: int
    cache_dir: Path
    log: Path
    args: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """Where it listens."""
        return f"http://127.0.0.1:{self.port}"

    def get(self, target: str | bytes, **kwargs: object) -> Response:
        """A request to this edge."""
        return request(self.port, target, **kwargs)  # type: ignore[arg-type]

    def metrics(self) -> dict[str, float]:
        """Its /metrics samples by ``name{labels}``."""
        return parse_exposition(self.get("/metrics").body.decode())

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after five seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL: a crash, as a machine losing power would do to the process."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def start_edge(
    *,
    keys: str,
    upstreams: list[str],
    cache_dir: Path,
    cache_size: str = "1G",
    name: str = "edge-test",
    site: str = "test",
    port: int | None = None,
    extra: list[str] | None = None,
    module: str = "cineflux.edge",
    timeout: float = 15.0,
) -> EdgeProcess:
    """Start an edge and wait until its /healthz answers (or raise with its log)."""
    port = port or free_port()
    args = [
        "--token-keys", keys, "--cache-dir", str(cache_dir), "--cache-size", cache_size,
        "--name", name, "--site", site, "--listen", f"127.0.0.1:{port}",
    ]  # fmt: skip
    for upstream in upstreams:
        args += ["--upstream", upstream]
    args += extra or []
    cache_dir.mkdir(parents=True, exist_ok=True)
    log = cache_dir.parent / f"{name}-{port}.log"
    command = [sys.executable, "-m", *module.split(" "), *args]
    with log.open("ab") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    edge = EdgeProcess(process, port, cache_dir, log, args)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"edge exited with {process.returncode}: {log.read_text()}")
        with contextlib.suppress(OSError):
            if edge.get("/healthz", timeout=1.0).status in (200, 503):
                return edge
        time.sleep(0.05)  # polling the port until the process listens, bounded by the deadline
    edge.kill()
    raise TimeoutError(f"edge did not listen within {timeout}s: {log.read_text()}")


def wait_for(predicate: object, *, timeout: float = 10.0, interval: float = 0.02) -> None:
    """Poll ``predicate()`` until true, or raise TimeoutError at the deadline."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError("condition not met before the deadline")
