"""The edge's sockets: accept, read request heads, answer with ``sendfile``, fill on misses.

A thin layer over the pure parts (``protocol``, ``tokens``, ``media_types``) and the disk
cache. Connections are driven by the event loop's reader/writer callbacks on non-blocking
sockets rather than by asyncio transports: a hit then costs one ``recv``, one ``send`` of
the head (``MSG_MORE``, so it leaves in the same packet as the body) and ``sendfile`` calls
straight from the cache file's kept-open descriptor, with no task, future or buffer copy per
request. Misses run as one coroutine per object (the fill); every requester of that object
streams from the growing temp file as bytes arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import json
import logging
import os
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cineflux.edge import protocol
from cineflux.edge.cache import CachedObject, DiskCache, PendingFile
from cineflux.edge.eviction import DEFAULT_POLICY, PinnedFillPlan, make_policy
from cineflux.edge.fill import TokenBucket
from cineflux.edge.media_types import (
    RangeNotSatisfiable,
    cache_control_for,
    content_type_for,
    parse_range,
)
from cineflux.edge.metrics import Gauges, Metrics, render
from cineflux.edge.tokens import (
    OutsidePrefix,
    TokenError,
    TokenExpired,
    TokenForged,
    UnsafePath,
    loggable_path,
    split_signed_path,
    verify_request,
    verify_token,
)
from cineflux.edge.upstream import UpstreamError, fetch_object

logger = logging.getLogger("cineflux.edge")
access_logger = logging.getLogger("cineflux.edge.access")

RECV_BYTES = 64 * 1024
ADMIN_FILL_TARGET = "/admin/fill-now"
_TCP_INFO = struct.Struct("B" * 8 + "I" * 24)
REJECTION_REASONS: dict[type[TokenError], str] = {
    UnsafePath: "unsafe_path",
    TokenExpired: "expired",
    OutsidePrefix: "outside_prefix",
    TokenForged: "forged",
}


@dataclass(frozen=True)
class EdgeConfig:
    """Everything an edge is started with (flags and CINEFLUX_EDGE_* variables)."""

    site: str
    name: str
    host: str
    port: int
    public_url: str
    upstreams: tuple[str, ...]
    cache_dir: Path
    cache_size: int
    keys: dict[str, bytes] = field(repr=False)
    eviction: str = DEFAULT_POLICY
    control: str | None = None
    heartbeat_seconds: float = 5.0
    capacity_bps: int = 10_000_000_000
    max_connections: int = 10_000
    fill_now: bool = False
    access_log: bool = False
    upstream_timeout: float = 10.0
    idle_timeout: float = 60.0
    send_buffer: int = 0  # 0 keeps the kernel's autotuning


class Fill:
    """One upstream fetch of one object, shared by every request for it while it runs."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.state = "pending"  # -> streaming -> done | failed
        self.status = 0  # the answer when it is not 200 (404, 502, ...)
        self.pending: PendingFile | None = None
        self.entry: CachedObject | None = None
        self.waiting: list[tuple[Connection, protocol.RequestHead, float]] = []
        self.subscribers: set[Connection] = set()
        self.readers: set[Connection] = set()
        self.limiter: TokenBucket | None = None
        # "stored", "not_stored" (no room, or too large) or "failed", once the fill ends.
        self.done: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @property
    def available_end(self) -> int:
        """File offset up to which the body is written."""
        assert self.pending is not None
        return self.pending.body_offset + self.pending.written

    def acquire(self, connection: Connection) -> int:
        """The descriptor a streaming reader sends from."""
        assert self.pending is not None
        self.readers.add(connection)
        if self.entry is not None:
            self.entry.readers += 1
        return self.pending.fd

    def release(self, connection: Connection) -> None:
        """A reader is done with the descriptor; the last one closes it if nobody else will."""
        self.readers.discard(connection)
        self.subscribers.discard(connection)
        if self.entry is not None:
            self.entry.release()
        elif self.state in ("done", "failed") and not self.readers:
            self._close_fd()

    def adopt(self, entry: CachedObject | None) -> None:
        """The fill completed: the cache entry (if stored) now owns the descriptor."""
        self.state = "done"
        self.entry = entry
        if entry is not None:
            entry.readers += len(self.readers)
        elif not self.readers:
            self._close_fd()

    def _close_fd(self) -> None:
        if self.pending is not None and self.pending.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.pending.fd)
            self.pending.fd = -1

    def progress(self) -> None:
        """New bytes are on disk: wake the readers that caught up."""
        if self.subscribers:
            waiting = list(self.subscribers)
            self.subscribers.clear()
            for connection in waiting:
                connection.pump()

    def fail(self) -> None:
        """The upstream broke mid-body: every reader's connection is cut (never a wrong body)."""
        self.state = "failed"
        for connection in list(self.readers):
            connection.close()
        if not self.readers:
            self._close_fd()


class Connection:
    """One client connection: a request at a time, keep-alive, answers from disk."""

    def __init__(self, server: EdgeServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.fileno = sock.fileno()
        self.loop = server.loop
        self.inbuf = bytearray()
        self.out = memoryview(b"")
        self.busy = False
        self.closed = False
        self.writing = False
        self.reading = True
        self.processing = False
        self.keep_alive = True
        self.last_active = time.monotonic()
        # The answer in flight.
        self.status = 0
        self.result = ""
        self.head_only = False
        self.body_fd = -1
        self.body_pos = 0
        self.body_end = 0
        self.body_start = 0
        self.hit: CachedObject | None = None
        self.fill: Fill | None = None
        self.request: protocol.RequestHead | None = None
        self.started = 0.0
        self.transport_info: tuple[float, int | None, int | None] = (0.0, None, None)
        self._small_body_bytes = 0
        self.loop.add_reader(self.fileno, self.on_readable)

    # --- reading ------------------------------------------------------------------------

    def on_readable(self) -> None:
        """Bytes (or the end) from the client."""
        try:
            data = self.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.close()
            return
        if not data:
            self.close()
            return
        self.inbuf += data
        self.last_active = time.monotonic()
        if not self.busy:
            self.process()
        elif len(self.inbuf) > protocol.MAX_HEAD_BYTES:
            # A client racing ahead of our answers: stop reading until this one is sent.
            self.loop.remove_reader(self.fileno)
            self.reading = False

    def process(self) -> None:
        """Answer every complete request head in the buffer, one at a time."""
        if self.processing:
            return
        self.processing = True
        try:
            while not self.busy and not self.closed and self.inbuf:
                try:
                    parsed = protocol.parse_request_head(self.inbuf)
                except protocol.BadRequest as error:
                    self.keep_alive = False
                    self.busy = True
                    self.send_small(error.status, f"{error}\n".encode(), result="bad_request")
                    return
                if parsed is None:
                    return
                request, used = parsed
                del self.inbuf[:used]
                self.busy = True
                self.request = request
                self.keep_alive = request.keep_alive
                self.started = time.monotonic()
                try:
                    self.server.handle(self, request)
                except Exception:
                    logger.exception("request failed", extra={"path": loggable_path(request.path)})
                    self.close()
        finally:
            self.processing = False

    # --- writing ------------------------------------------------------------------------

    def send_small(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        *,
        result: str,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> None:
        """An answer with a short in-memory body."""
        head_only = self.request is not None and self.request.method == "HEAD"
        data = protocol.small_response(
            status,
            body,
            content_type,
            date=self.server.date(),
            keep_alive=self.keep_alive,
            head_only=head_only,
            extra=extra,
        )
        self.status, self.result = status, result
        self.body_start = self.body_pos = self.body_end = 0
        self.body_fd = -1
        self._small_body_bytes = 0 if head_only else len(body)
        self.out = memoryview(data)
        self.pump()

    def send_file(
        self,
        head: bytes,
        *,
        status: int,
        result: str,
        fd: int,
        start: int,
        end: int,
        hit: CachedObject | None = None,
        fill: Fill | None = None,
    ) -> None:
        """A head, then file bytes ``[start, end)`` of ``fd`` (end may lie ahead of a fill)."""
        self.status, self.result = status, result
        self.out = memoryview(head)
        self.body_fd, self.body_start, self.body_pos, self.body_end = fd, start, start, end
        self.hit, self.fill = hit, fill
        self._small_body_bytes = 0
        self.pump()

    def pump(self) -> None:
        """Send what can be sent now; the writer callback or the fill calls again later."""
        if self.closed:
            return
        try:
            while self.out:
                flags = socket.MSG_MORE if self.body_pos < self.body_end else 0
                sent = self.sock.send(self.out, flags)
                self.out = self.out[sent:]
            while self.body_pos < self.body_end:
                limit = self.body_end
                fill = self.fill
                if fill is not None and fill.entry is None:
                    limit = min(limit, fill.available_end)
                    if limit <= self.body_pos:
                        self._stop_writing()
                        fill.subscribers.add(self)
                        return
                sent = os.sendfile(self.fileno, self.body_fd, self.body_pos, limit - self.body_pos)
                if sent == 0:
                    raise OSError(errno.EIO, "cache file shorter than its index says")
                self.body_pos += sent
        except (BlockingIOError, InterruptedError):
            self._start_writing()
            return
        except OSError:
            self.close()
            return
        self._stop_writing()
        self.finish()

    def _start_writing(self) -> None:
        if not self.writing:
            self.loop.add_writer(self.fileno, self.pump)
            self.writing = True

    def _stop_writing(self) -> None:
        if self.writing:
            self.loop.remove_writer(self.fileno)
            self.writing = False

    def _release_body(self) -> None:
        if self.hit is not None:
            self.hit.release()
            self.hit = None
        if self.fill is not None:
            self.fill.release(self)
            self.fill = None
        self.body_fd = -1

    def finish(self) -> None:
        """The answer is out: count it, then read the next request or close."""
        body_bytes = (self.body_pos - self.body_start) or self._small_body_bytes
        self._release_body()
        self.server.answered(self, body_bytes)
        self.busy = False
        self.request = None
        self.last_active = time.monotonic()
        if not self.keep_alive:
            self.close()
            return
        if not self.reading:
            self.loop.add_reader(self.fileno, self.on_readable)
            self.reading = True
        if self.inbuf:
            self.process()

    def close(self) -> None:
        """Drop the connection (mid-answer too: the client sees a short body, never a wrong one)."""
        if self.closed:
            return
        self.closed = True
        if self.reading:
            self.loop.remove_reader(self.fileno)
        self._stop_writing()
        self._release_body()
        self.server.connections.discard(self)
        with contextlib.suppress(OSError):
            self.sock.close()

    def transport_estimates(self) -> tuple[int | None, int | None]:
        """``(etp kbit/s, rtt ms)`` from the kernel's TCP_INFO, refreshed once a second."""
        measured, etp, rtt = self.transport_info
        now = time.monotonic()
        if now - measured < 1.0:
            return etp, rtt
        try:
            raw = self.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO.size)
            fields = _TCP_INFO.unpack(raw[: _TCP_INFO.size])
        except (OSError, struct.error):
            self.transport_info = (now, None, None)
            return None, None
        # struct tcp_info: 8 bytes of flags, then u32s; snd_mss is the 3rd, rtt the 16th and
        # snd_cwnd the 20th (include/uapi/linux/tcp.h).
        mss, rtt_us, cwnd = fields[8 + 2], fields[8 + 15], fields[8 + 19]
        etp = protocol.estimated_throughput_kbps(
            cwnd_packets=cwnd, mss=mss, rwnd_bytes=0, rtt_us=rtt_us
        )
        rtt = round(rtt_us / 1000)
        self.transport_info = (now, etp, rtt)
        return etp, rtt


class EdgeServer:
    """The edge: a listening socket, the disk cache, fills in flight, counters."""

    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        # The fill plan is pinned above the eviction policy: what tonight's fill brought in
        # stays for tomorrow's audience (bench/cdn_sim.py: design vs fill left to eviction).
        policy = PinnedFillPlan(make_policy(config.eviction))
        self.cache = DiskCache(config.cache_dir, config.cache_size, policy)
        self.metrics = Metrics()
        self.connections: set[Connection] = set()
        self.fills: dict[str, Fill] = {}
        self.healthy = True
        self.stopping = False
        self.listener: socket.socket | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._date_second = -1
        self._date_text = ""
        self._cmsd_static: dict[str, str] = {}
        self.on_fill_request: Callable[[], bool] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the edge runs on."""
        assert self._loop is not None
        return self._loop

    async def start(self) -> None:
        """Open the cache (rebuilding its index) and start accepting connections."""
        self._loop = asyncio.get_running_loop()
        self.cache.open()
        self.healthy = self.cache.usable()
        listener = socket.socket(socket.AF_INET6 if ":" in self.config.host else socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.config.host, self.config.port))
        listener.listen(1024)
        listener.setblocking(False)
        self.listener = listener
        self.loop.add_reader(listener.fileno(), self._accept)
        self.spawn(self._sweep_idle())
        logger.info(
            "edge listening",
            extra={
                "edge": self.config.name,
                "site": self.config.site,
                "address": f"{self.config.host}:{self.port}",
                "upstreams": len(self.config.upstreams),
                "cache_bytes": self.cache.used,
            },
        )

    @property
    def port(self) -> int:
        """The port actually bound (useful with port 0)."""
        assert self.listener is not None
        return int(self.listener.getsockname()[1])

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """A background task kept referenced until it ends."""
        task = self.loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def stop(self) -> None:
        """Stop accepting, drop connections, cancel fills and background work."""
        if self.listener is not None:
            self.loop.remove_reader(self.listener.fileno())
            self.listener.close()
            self.listener = None
        for connection in list(self.connections):
            connection.close()
        self.stopping = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            # Python 3.11's wait_for can swallow a cancellation that races its own result:
            # loops also watch ``stopping``, and stopping never waits on them for long.
            await asyncio.wait(list(self._tasks), timeout=2.0)

    def _accept(self) -> None:
        assert self.listener is not None
        for _ in range(64):
            try:
                sock, _address = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # out of descriptors: keep serving those we have
                logger.warning("accept failed", extra={"error": str(error)})
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.config.send_buffer:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.config.send_buffer)
            self.metrics.connections_accepted += 1
            self.connections.add(Connection(self, sock))

    async def _sweep_idle(self) -> None:
        """Close connections idle past the timeout (slow or abandoned clients)."""
        while not self.stopping:
            await asyncio.sleep(min(5.0, self.config.idle_timeout))
            deadline = time.monotonic() - self.config.idle_timeout
            for connection in list(self.connections):
                if not connection.busy and connection.last_active < deadline:
                    connection.close()

    def date(self) -> str:
        """The Date header value, formatted once a second."""
        now = time.time()
        second = int(now)
        if second != self._date_second:
            self._date_second = second
            self._date_text = protocol.http_date(now)
        return self._date_text

    @property
    def load(self) -> float:
        """Connections against their limit (the heartbeat adds egress against capacity)."""
        return len(self.connections) / self.config.max_connections

    # --- routing ------------------------------------------------------------------------

    def handle(self, connection: Connection, request: protocol.RequestHead) -> None:
        """Answer one request."""
        path = request.path
        if path.startswith("/t/"):
            self._serve_object(connection, request)
        elif path == "/healthz" and request.method in ("GET", "HEAD"):
            self._serve_health(connection)
        elif path == "/metrics" and request.method in ("GET", "HEAD"):
            body = render(self.metrics, self.gauges()).encode()
            connection.send_small(
                200, body, "text/plain; version=0.0.4; charset=utf-8", result="metrics"
            )
        elif path == ADMIN_FILL_TARGET and request.method == "POST":
            self._admin_fill(connection, request)
        else:
            connection.send_small(404, b"not found\n", result="not_found")

    def _serve_health(self, connection: Connection) -> None:
        self.healthy = self.cache.usable()
        status = {
            "status": "ok" if self.healthy else "unhealthy",
            "edge": self.config.name,
            "site": self.config.site,
            "cached_objects": len(self.cache.objects),
            "disk_used_bytes": self.cache.used,
            "disk_capacity_bytes": self.cache.capacity,
            "open_connections": len(self.connections),
        }
        if not self.healthy:
            status["reason"] = "cache disk unusable"
        body = json.dumps(status).encode()
        connection.send_small(
            200 if self.healthy else 503, body, "application/json", result="health"
        )

    def _admin_fill(self, connection: Connection, request: protocol.RequestHead) -> None:
        try:
            verify_request(
                request.headers.get("x-cineflux-edge-signature"),
                keys=self.config.keys,
                method="POST",
                target=ADMIN_FILL_TARGET,
                body=b"",
                now=time.time(),
            )
        except TokenError as error:
            self.metrics.token_rejections["admin_" + REJECTION_REASONS[type(error)]] += 1
            connection.send_small(403, b"forbidden\n", result="rejected")
            return
        started = self.on_fill_request() if self.on_fill_request else False
        body = json.dumps({"started": started}).encode()
        connection.send_small(202 if started else 409, body, "application/json", result="admin")

    def _serve_object(self, connection: Connection, request: protocol.RequestHead) -> None:
        if request.method == "OPTIONS":
            head = protocol.response_head(
                204, [("Date", self.date()), *protocol.PREFLIGHT_HEADERS, ("Content-Length", "0")]
            )
            connection.send_file(head, status=204, result="preflight", fd=-1, start=0, end=0)
            return
        if request.method not in ("GET", "HEAD"):
            connection.send_small(
                405,
                b"method not allowed\n",
                result="rejected",
                extra=(("Allow", "GET, HEAD, OPTIONS"),),
            )
            return
        try:
            token, path = split_signed_path(request.path)
            verify_token(token, keys=self.config.keys, path=path, now=time.time())
        except TokenError as error:
            self.metrics.token_rejections[REJECTION_REASONS[type(error)]] += 1
            connection.send_small(error.status, f"{error}\n".encode(), result="rejected")
            return
        entry = self.cache.lookup(path)
        if entry is not None:
            self.metrics.hits += 1
            self._answer(connection, request, path, entry.size, entry.etag, "hit", hit=entry)
            return
        fill = self.fills.get(path)
        if fill is None:
            self.metrics.misses += 1
            fill = self.start_fill(path, token)
            result = "miss"
        else:
            self.metrics.coalesced += 1
            fill.limiter = None  # a viewer is waiting: proactive pacing no longer applies
            result = "coalesced"
        if fill.state == "pending":
            fill.waiting.append((connection, request, 0.0))
            connection.result = result
        else:
            self._answer_from_fill(connection, request, fill, result)

    def _answer_from_fill(
        self, connection: Connection, request: protocol.RequestHead, fill: Fill, result: str
    ) -> None:
        """Answer a request for an object whose fill has its head (or has ended)."""
        if fill.state == "failed" or fill.pending is None:
            status = fill.status or 502
            connection.send_small(status, f"upstream answered {status}\n".encode(), result=result)
            return
        pending = fill.pending
        self._answer(connection, request, fill.path, pending.size, pending.etag, result, fill=fill)

    def _answer(
        self,
        connection: Connection,
        request: protocol.RequestHead,
        path: str,
        size: int,
        etag: str,
        result: str,
        *,
        hit: CachedObject | None = None,
        fill: Fill | None = None,
    ) -> None:
        """The object's answer: 200, 206, 304 or 416, with the body from the cache file."""
        headers = request.headers
        static = self._static_fields(path, etag, hit)
        if protocol.etag_matches(headers.get("if-none-match"), etag):
            head = self._head(connection, 304, static, None, None)
            connection.send_file(head, status=304, result=result, fd=-1, start=0, end=0)
            return
        wanted: tuple[int, int] | None = None
        range_header = headers.get("range")
        if range_header is not None and headers.get("if-range", etag) == etag:
            try:
                wanted = parse_range(range_header, size)
            except RangeNotSatisfiable:
                head = self._head(connection, 416, static, 0, f"bytes */{size}")
                connection.send_file(head, status=416, result=result, fd=-1, start=0, end=0)
                return
        if wanted is None:
            status, first, last, content_range = 200, 0, size - 1, None
        else:
            first, last = wanted
            status, content_range = 206, f"bytes {first}-{last}/{size}"
        length = last - first + 1 if size else 0
        head = self._head(connection, status, static, length, content_range)
        if request.method == "HEAD" or length == 0:
            connection.send_file(head, status=status, result=result, fd=-1, start=0, end=0)
            return
        if hit is not None:
            fd = self.cache.acquire(hit)
            offset = hit.body_offset
        else:
            assert fill is not None and fill.pending is not None
            fd = fill.acquire(connection)
            offset = fill.pending.body_offset
        connection.send_file(
            head,
            status=status,
            result=result,
            fd=fd,
            start=offset + first,
            end=offset + last + 1,
            hit=hit,
            fill=fill,
        )

    def _static_fields(self, path: str, etag: str, hit: CachedObject | None) -> bytes:
        """Header lines that depend on the object only, built once per cached object."""
        if hit is not None and hit.head_fields:
            return hit.head_fields
        cmsd = self._cmsd_static.get(path)
        if cmsd is None:
            cmsd = protocol.cmsd_static(path, self.config.name)
            if len(self._cmsd_static) > 100_000:
                self._cmsd_static.clear()
            self._cmsd_static[path] = cmsd
        lines = (
            f"Content-Type: {content_type_for(path)}\r\n"
            f"Cache-Control: {cache_control_for(path)}\r\n"
            f"ETag: {etag}\r\n"
            "Accept-Ranges: bytes\r\n"
            "Access-Control-Allow-Origin: *\r\n"
            f"Access-Control-Expose-Headers: {protocol.CORS_EXPOSED}\r\n"
            f"CMSD-Static: {cmsd}\r\n"
        ).encode("latin-1")
        if hit is not None:
            hit.head_fields = lines
        return lines

    def _head(
        self,
        connection: Connection,
        status: int,
        static: bytes,
        length: int | None,
        content_range: str | None,
    ) -> bytes:
        etp, rtt = connection.transport_estimates()
        if etp is not None:  # loopback's microsecond RTTs would claim more than the link has
            etp = min(etp, self.config.capacity_bps // 1000)
        delay_ms = round((time.monotonic() - connection.started) * 1000)
        dynamic = protocol.cmsd_dynamic(
            self.config.name,
            estimated_kbps=etp,
            rtt_ms=rtt,
            response_delay_ms=delay_ms,
            duress=self.load > 1.0,
        )
        parts = [
            f"HTTP/1.1 {status} {protocol.REASONS[status]}\r\nDate: {self.date()}\r\n".encode(),
            static,
        ]
        if length is not None:
            parts.append(b"Content-Length: %d\r\n" % length)
        if content_range is not None:
            parts.append(f"Content-Range: {content_range}\r\n".encode())
        parts.append(f"CMSD-Dynamic: {dynamic}\r\n".encode())
        if not connection.keep_alive:
            parts.append(b"Connection: close\r\n")
        parts.append(b"\r\n")
        return b"".join(parts)

    def answered(self, connection: Connection, body_bytes: int) -> None:
        """Count an answer once it is sent (and log it when access logs are on)."""
        self.metrics.served(connection.status, connection.result, body_bytes)
        if self.config.access_log and connection.request is not None:
            access_logger.info(
                "request",
                extra={
                    "method": connection.request.method,
                    # The object path only: the token is a credential and never logged.
                    "path": loggable_path(connection.request.path),
                    "status": connection.status,
                    "result": connection.result,
                    "bytes": body_bytes,
                    "ms": round((time.monotonic() - connection.started) * 1000, 3),
                },
            )

    # --- fills --------------------------------------------------------------------------

    def start_fill(
        self,
        path: str,
        token: str,
        *,
        limiter: TokenBucket | None = None,
        protected: frozenset[str] = frozenset(),
    ) -> Fill:
        """Begin fetching ``path`` upstream (one fetch however many ask for it)."""
        fill = Fill(path)
        fill.limiter = limiter
        self.fills[path] = fill
        self.spawn(self._run_fill(fill, token, protected))
        return fill

    async def _run_fill(self, fill: Fill, token: str, protected: frozenset[str]) -> None:
        try:
            await self._fetch_into(fill, token, protected)
        finally:
            self.fills.pop(fill.path, None)
            if not fill.done.done():
                outcome = "failed" if fill.state == "failed" else "not_stored"
                fill.done.set_result("stored" if fill.entry is not None else outcome)

    async def _fetch_into(self, fill: Fill, token: str, protected: frozenset[str]) -> None:
        try:
            response = await fetch_object(
                list(self.config.upstreams), fill.path, token, timeout=self.config.upstream_timeout
            )
        except UpstreamError:
            self.metrics.upstream_errors["unavailable"] += 1
            self._answer_waiting(fill, state="failed", status=502)
            return
        if response.status != 200:
            response.close()
            self.metrics.upstream_errors[f"status_{response.status}"] += 1
            self._answer_waiting(fill, state="failed", status=response.status)
            return
        self.metrics.upstream_fetches += 1
        etag = response.etag or _derived_etag(fill.path, response.length)
        try:
            pending = self.cache.begin(fill.path, response.length, etag, protected=protected)
        except OSError as error:
            response.close()
            self.healthy = False
            logger.error("cache disk unusable", extra={"error": str(error)})
            self._answer_waiting(fill, state="failed", status=503)
            return
        fill.pending = pending
        self._answer_waiting(fill, state="streaming", status=200)
        try:
            async for chunk in response.body:
                pending.write(chunk)
                self.metrics.upstream_bytes += len(chunk)
                # Paced fills count every chunk; the debt of the last one is paid before the
                # next object starts (see control.run_plan).
                delay = fill.limiter.consume(len(chunk), time.monotonic()) if fill.limiter else 0
                if pending.written == pending.size:
                    break
                fill.progress()
                if delay:
                    await asyncio.sleep(delay)
            if pending.written != pending.size:
                raise UpstreamError("upstream body shorter than announced")
            # Stored before the last bytes go out: a client that has the whole object can
            # count on the edge having it too (a crash right after loses nothing).
            entry = self.cache.commit(pending)
        except (UpstreamError, OSError, ValueError, TimeoutError) as error:
            self.metrics.upstream_errors["broken"] += 1
            logger.warning(
                "upstream broke mid-body", extra={"path": fill.path, "error": str(error)}
            )
            self.cache.abort(pending)
            fill.fail()
            return
        except asyncio.CancelledError:
            self.cache.abort(pending)
            fill.fail()
            raise
        finally:
            await response.body.aclose()
        fill.adopt(entry)
        fill.progress()

    def _answer_waiting(self, fill: Fill, *, state: str, status: int) -> None:
        fill.state = state
        fill.status = status
        waiting, fill.waiting = fill.waiting, []
        for connection, request, _ in waiting:
            if not connection.closed:
                self._answer_from_fill(connection, request, fill, connection.result)

    def gauges(self) -> Gauges:
        """The gauges of /metrics, read now."""
        return Gauges(
            open_connections=len(self.connections),
            disk_used_bytes=self.cache.used + self.cache.reserved,
            disk_capacity_bytes=self.cache.capacity,
            cached_objects=len(self.cache.objects),
            evictions=self.cache.stats.evictions,
            evicted_bytes=self.cache.stats.evicted_bytes,
            fills_in_flight=len(self.fills),
            healthy=self.healthy,
        )


def _derived_etag(path: str, size: int) -> str:
    """A strong ETag for an upstream that gave none (published objects never change)."""
    digest = hashlib.sha256(f"{path}\n{size}".encode()).hexdigest()[:20]
    return f'"{digest}"'
