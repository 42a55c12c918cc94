"""Edges as real processes on loopback, a storage directory as their origin, and fakes of
what surrounds them: an upstream that stalls or dies mid-body, and a control plane."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cineflux.edge.harness import EdgeProcess, start_edge
from cineflux.edge.tokens import sign_token, verify_request

KEY_ID = "test"
KEY = "edge-test-secret-0123456789"
KEYS = f"{KEY_ID}:{KEY}"
PREFIX = "/titles/abc/"


def make_token(prefix: str = PREFIX, *, expires_in: int = 3600, session: str = "s-1") -> str:
    return sign_token(
        key_id=KEY_ID,
        key=KEY.encode(),
        path_prefix=prefix,
        session_id=session,
        expires=int(time.time()) + expires_in,
    )


def signed(path: str, token: str | None = None) -> str:
    return f"/t/{token or make_token()}{path}"


@dataclass
class Origin:
    """A storage directory with a few published objects of known bytes."""

    root: Path
    objects: dict[str, bytes] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"file://{self.root}"

    def put(self, path: str, body: bytes) -> str:
        file = self.root / path.lstrip("/")
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(body)
        self.objects[path] = body
        return path


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    origin = Origin(tmp_path / "origin")
    origin.put("/titles/abc/master.m3u8", b"#EXTM3U\n#EXT-X-VERSION:7\n")
    origin.put("/titles/abc/video/720p/seg-00001.m4s", os.urandom(700_000))
    origin.put("/titles/abc/video/720p/init.mp4", os.urandom(1_000))
    (origin.root / "secret.txt").write_bytes(b"outside every prefix")
    return origin


@pytest.fixture
def edges(tmp_path: Path) -> Iterator[list[EdgeProcess]]:
    """Every edge a test starts, stopped at its end."""
    started: list[EdgeProcess] = []
    yield started
    for edge in started:
        edge.stop()


Launch = Callable[..., EdgeProcess]


@pytest.fixture
def launch(tmp_path: Path, edges: list[EdgeProcess]) -> Launch:
    """Start an edge with the test keys: ``launch(upstreams, name=..., **options)``."""

    def _launch(upstreams: list[str], *, name: str = "edge", **options: object) -> EdgeProcess:
        edge = start_edge(
            keys=KEYS,
            upstreams=upstreams,
            cache_dir=tmp_path / f"{name}-cache",
            name=name,
            **options,  # type: ignore[arg-type]
        )
        edges.append(edge)
        return edge

    return _launch


class GatedUpstream:
    """An HTTP upstream that sends a head and the first bytes, then waits for ``release``;
    released, it sends the rest, or (``fail=True``) drops the connection mid-body."""

    def __init__(self, body: bytes, first_bytes: int) -> None:
        self.body = body
        self.first_bytes = first_bytes
        self.release = threading.Event()
        self.fail = False
        self.requests: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            self.requests.append(data.split(b" ")[1].decode())
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Length: {len(self.body)}\r\n"
                'ETag: "gated"\r\nConnection: close\r\n\r\n'
            )
            conn.sendall(head.encode() + self.body[: self.first_bytes])
            self.release.wait(timeout=30)
            if self.fail:
                conn.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                return  # closed with a reset, mid-body
            conn.sendall(self.body[self.first_bytes :])

    def close(self) -> None:
        self.release.set()
        self.listener.close()


@pytest.fixture
def gated() -> Iterator[list[GatedUpstream]]:
    made: list[GatedUpstream] = []
    yield made
    for upstream in made:
        upstream.close()


GatedEdge = Callable[[bytes, int], tuple[GatedUpstream, EdgeProcess]]


@pytest.fixture
def gated_edge(gated: list[GatedUpstream], launch: Launch) -> GatedEdge:
    """An edge in front of a new GatedUpstream serving ``body``: ``(upstream, edge)``."""

    def _make(body: bytes, first_bytes: int) -> tuple[GatedUpstream, EdgeProcess]:
        upstream = GatedUpstream(body, first_bytes)
        gated.append(upstream)
        return upstream, launch([upstream.url])

    return _make


@dataclass
class FakeControl:
    """A control plane that records signed heartbeats and serves one fill plan."""

    server: ThreadingHTTPServer
    heartbeats: list[dict[str, object]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    plan: dict[str, object] | None = None
    plan_requests: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def control() -> Iterator[FakeControl]:
    state: FakeControl

    class Handler(BaseHTTPRequestHandler):
        def _verified(self, body: bytes) -> bool:
            try:
                verify_request(
                    self.headers.get("X-Cineflux-Edge-Signature"),
                    keys={KEY_ID: KEY.encode()},
                    method=self.command,
                    target=self.path,
                    body=body,
                    now=time.time(),
                )
            except Exception as error:  # any refusal is recorded for the test to see
                state.refused.append(f"{self.command} {self.path}: {error}")
                self._send(403, b"{}")
                return False
            return True

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path == "/api/cdn/heartbeat" and self._verified(body):
                state.heartbeats.append(json.loads(body))
                self._send(200, b'{"in_rotation": true}')

        def do_GET(self) -> None:
            if self.path.endswith("/fill-plan") and self._verified(b""):
                state.plan_requests += 1
                if state.plan is None:
                    self._send(404, b"{}")
                else:
                    self._send(200, json.dumps(state.plan).encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = FakeControl(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def dead_url() -> str:
    """An http URL where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def cache_files(edge: EdgeProcess) -> list[Path]:
    return sorted(p for p in edge.cache_dir.rglob("*") if p.is_file())
