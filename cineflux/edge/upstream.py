"""Where misses are fetched: origins and parent edges over HTTP(S), or a storage directory.

Upstreams are tried in order until one answers; a refused connection, a timeout or a 5xx
moves on to the next, while 403/404/410 are answers (every upstream would say the same).
The HTTP client is a small HTTP/1.1 one on asyncio streams: one request per connection, the
body read against the announced ``Content-Length`` so that a short body is an error, never
an object.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cineflux.edge.tokens import UnsafePath, check_object_path

logger = logging.getLogger("cineflux.edge.upstream")

CHUNK_BYTES = 256 * 1024
FINAL_STATUSES = frozenset({403, 404, 410})
USER_AGENT = "cineflux-edge/1"


class UpstreamError(Exception):
    """No upstream could give the object (all down, timed out or broken mid-body)."""


@dataclass
class UpstreamResponse:
    """An upstream's answer; ``body`` yields exactly ``length`` bytes or raises."""

    status: int
    length: int
    etag: str | None
    source: str
    body: AsyncGenerator[bytes, None]
    close: Callable[[], None] = field(default=lambda: None)


def file_etag(size: int, mtime_ns: int) -> str:
    """The ETag of a stored file, as the origin's local storage tags it."""
    return f'"{size:x}-{mtime_ns:x}"'


def parse_status_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status code and header fields (lower-case names) of an HTTP/1.x response head."""
    text = head.decode("latin-1")
    status_line, *lines = text.split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise UpstreamError("malformed status line")
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def fetch_object(
    upstreams: list[str], path: str, token: str, *, timeout: float = 10.0
) -> UpstreamResponse:
    """The first usable answer for ``/t/<token><path>`` among ``upstreams``, in order."""
    failures: list[str] = []
    for upstream in upstreams:
        try:
            if upstream.startswith("file://"):
                return await _open_file(upstream, path)
            return await _open_http(upstream, f"/t/{token}{path}", timeout=timeout)
        except (OSError, TimeoutError, UpstreamError, ssl.SSLError) as error:
            failures.append(f"{_display(upstream)}: {error.__class__.__name__}")
            logger.warning(
                "upstream failed", extra={"upstream": _display(upstream), "error": str(error)}
            )
    raise UpstreamError("; ".join(failures) or "no upstream configured")


def _display(upstream: str) -> str:
    """An upstream as logs show it: scheme and host only (never credentials or paths)."""
    parts = urlsplit(upstream)
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}"


async def _open_file(upstream: str, path: str) -> UpstreamResponse:
    root = Path(urlsplit(upstream).path).resolve()
    try:
        check_object_path(path)
    except UnsafePath:
        return _empty(404, upstream)
    file = (root / path.lstrip("/")).resolve()
    if not file.is_relative_to(root) or not file.is_file():
        return _empty(404, upstream)
    fd = os.open(file, os.O_RDONLY | os.O_CLOEXEC)
    info = os.fstat(fd)
    loop = asyncio.get_running_loop()

    async def body() -> AsyncGenerator[bytes, None]:
        offset = 0
        try:
            while offset < info.st_size:
                size = min(CHUNK_BYTES, info.st_size - offset)
                chunk = await loop.run_in_executor(None, os.pread, fd, size, offset)
                if not chunk:
                    raise UpstreamError("stored file shrank while read")
                offset += len(chunk)
                yield chunk
        finally:
            os.close(fd)

    return UpstreamResponse(
        200, info.st_size, file_etag(info.st_size, info.st_mtime_ns), upstream, body()
    )


def _empty(status: int, upstream: str) -> UpstreamResponse:
    async def nothing() -> AsyncGenerator[bytes, None]:
        return
        yield b""  # pragma: no cover - makes this an async generator

    return UpstreamResponse(status, 0, None, upstream, nothing())


async def http_exchange(
    url: str,
    method: str,
    target: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes = b"",
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], asyncio.StreamReader, asyncio.StreamWriter]:
    """Send one request to ``url``'s host and read the answer's head."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UpstreamError("upstream URLs are http(s):// or file://")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    context = ssl.create_default_context() if parts.scheme == "https" else None
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, port, ssl=context, limit=CHUNK_BYTES),
        timeout,
    )
    try:
        base = parts.path.rstrip("/")
        host = parts.netloc.rpartition("@")[2]
        lines = [f"{method} {base}{target} HTTP/1.1", f"Host: {host}", f"User-Agent: {USER_AGENT}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        lines += [f"Content-Length: {len(body)}", "Connection: close"]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status, answer_headers = parse_status_head(head[:-4])
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
        writer.close()
        raise UpstreamError("no answer head") from error
    except BaseException:
        writer.close()
        raise
    return status, answer_headers, reader, writer


async def _open_http(upstream: str, target: str, *, timeout: float) -> UpstreamResponse:
    status, headers, reader, writer = await http_exchange(upstream, "GET", target, timeout=timeout)
    if status in FINAL_STATUSES:
        writer.close()
        return _empty(status, upstream)
    length_text = headers.get("content-length", "")
    if status != 200 or not length_text.isdigit() or "transfer-encoding" in headers:
        writer.close()
        raise UpstreamError(f"unusable answer {status}")
    length = int(length_text)

    async def body() -> AsyncGenerator[bytes, None]:
        remaining = length
        try:
            while remaining:
                chunk = await asyncio.wait_for(reader.read(min(CHUNK_BYTES, remaining)), timeout)
                if not chunk:
                    raise UpstreamError("upstream closed before the end of the body")
                remaining -= len(chunk)
                yield chunk
        finally:
            writer.close()

    etag = headers.get("etag")
    return UpstreamResponse(status, length, etag, upstream, body(), writer.close)


async def read_body(reader: asyncio.StreamReader, headers: Mapping[str, str], limit: int) -> bytes:
    """A small answer body (control-plane JSON), read whole up to ``limit`` bytes."""
    length_text = headers.get("content-length")
    if length_text is not None and length_text.isdigit():
        if int(length_text) > limit:
            raise UpstreamError("answer too large")
        return await reader.readexactly(int(length_text))
    data = await reader.read(limit + 1)
    if len(data) > limit:
        raise UpstreamError("answer too large")
    return data
