"""HTTP/1.1 for the edge, as pure functions: request heads, conditionals, response heads, CMSD.

The socket code in ``server.py`` only moves bytes; every decision about what a request means
or what an answer says is made here and tested without sockets.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from pathlib import PurePosixPath

MAX_HEAD_BYTES = 16 * 1024
REASONS = {
    200: "OK",
    204: "No Content",
    202: "Accepted",
    206: "Partial Content",
    304: "Not Modified",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    416: "Range Not Satisfiable",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}
# Players run on the application's origin and fetch from edges on other origins.
CORS_HEADERS = (("Access-Control-Allow-Origin", "*"),)
CORS_EXPOSED = "Content-Length, Content-Range, ETag, CMSD-Static, CMSD-Dynamic"
PREFLIGHT_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    ("Access-Control-Allow-Headers", "Range, If-None-Match"),
    ("Access-Control-Max-Age", "86400"),
)


class BadRequest(Exception):
    """A request head the edge cannot read; ``status`` is the answer before closing."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class RequestHead:
    """A parsed request line and its header fields (names in lower case)."""

    method: str
    target: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """The target without its query (players add CMCD arguments there)."""
        return self.target.partition("?")[0]

    @property
    def keep_alive(self) -> bool:
        """Whether the connection stays open after the answer (RFC 9112 section 9.3)."""
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.1":
            return "close" not in connection
        return "keep-alive" in connection


def parse_request_head(buffer: bytes | bytearray) -> tuple[RequestHead, int] | None:
    """The first request in ``buffer`` and the bytes it took, None if incomplete, or BadRequest.

    Bodies are not expected (GET, HEAD, OPTIONS, and signed POSTs without one); a request
    announcing a body is refused rather than desynchronising the connection.
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD_BYTES:
            raise BadRequest("request head too large", 431)
        return None
    if end > MAX_HEAD_BYTES:
        raise BadRequest("request head too large", 431)
    try:
        text = bytes(buffer[:end]).decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise BadRequest("undecodable request head") from None
    request_line, *lines = text.split("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[1]:
        raise BadRequest("malformed request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest("unsupported HTTP version", 505)
    headers: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest("malformed header field")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    length = headers.get("content-length", "0")
    if "transfer-encoding" in headers or not length.isdigit() or int(length) != 0:
        raise BadRequest("request bodies are not accepted")
    return RequestHead(method, target, version, headers), end + 4


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` matches ``etag`` (weak comparison, as RFC 9110 asks)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag.removeprefix("W/") in candidates


def http_date(timestamp: float) -> str:
    """An IMF-fixdate for the Date header."""
    return email.utils.formatdate(timestamp, usegmt=True)


def response_head(
    status: int, headers: list[tuple[str, str]] | tuple[tuple[str, str], ...]
) -> bytes:
    """The status line and header fields of an answer, ready for the socket."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def small_response(
    status: int,
    body: bytes,
    content_type: str = "text/plain; charset=utf-8",
    *,
    date: str,
    keep_alive: bool,
    head_only: bool = False,
    extra: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """A whole answer with a short in-memory body (errors, health, metrics)."""
    headers = [
        ("Date", date),
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"),
        *CORS_HEADERS,
        *extra,
    ]
    if not keep_alive:
        headers.append(("Connection", "close"))
    return response_head(status, headers) + (b"" if head_only else body)


# --- CTA-5006 Common Media Server Data --------------------------------------------------


def cmsd_object_type(path: str) -> str | None:
    """The CMSD ``ot`` of an object from its place in a package, None when unknown."""
    pure = PurePosixPath(path)
    suffix = pure.suffix.lower()
    parts = set(pure.parts)
    if suffix in (".m3u8", ".mpd"):
        return "m"
    if suffix == ".vtt":
        return "c"
    if suffix in (".jpg", ".png"):
        return "o"
    if suffix in (".mp4", ".m4s", ".m4a"):
        if pure.name == "init.mp4":
            return "i"
        if "video" in parts:
            return "v"
        if "audio" in parts:
            return "a"
    return None


def cmsd_static(path: str, intermediary: str) -> str:
    """The ``CMSD-Static`` value: object type, VOD stream type, and which edge wrote it."""
    items = []
    object_type = cmsd_object_type(path)
    if object_type:
        items.append(f"ot={object_type}")
    suffix = PurePosixPath(path).suffix.lower()
    if suffix == ".m3u8":
        items.append("sf=h")
    elif suffix == ".mpd":
        items.append("sf=d")
    items.append("st=v")
    items.append(f'n="{_sf_string(intermediary)}"')
    return ",".join(items)


def cmsd_dynamic(
    intermediary: str,
    *,
    estimated_kbps: int | None = None,
    rtt_ms: int | None = None,
    response_delay_ms: int | None = None,
    duress: bool = False,
) -> str:
    """The ``CMSD-Dynamic`` value: a string item naming the edge, with its measurements."""
    value = f'"{_sf_string(intermediary)}"'
    if estimated_kbps is not None:
        value += f";etp={max(0, estimated_kbps)}"
    if rtt_ms is not None:
        value += f";rtt={max(0, rtt_ms)}"
    if response_delay_ms is not None:
        value += f";rd={max(0, response_delay_ms)}"
    if duress:
        value += ";du"  # a boolean true parameter has no value
    return value


def estimated_throughput_kbps(*, cwnd_packets: int, mss: int, rwnd_bytes: int, rtt_us: int) -> int:
    """CTA-5006's informative estimate: 8 * min(cwnd * mss, rwnd) / rtt, in kbit/s."""
    if rtt_us <= 0:
        return 0
    send_window = min(cwnd_packets * mss, rwnd_bytes) if rwnd_bytes else cwnd_packets * mss
    return round(8 * send_window * 1000 / rtt_us)


def _sf_string(text: str) -> str:
    """A structured-field string: printable ASCII with quotes and backslashes escaped."""
    cleaned = "".join(ch for ch in text if " " <= ch <= "~")
    return cleaned.replace("\\", "\\\\").replace('"', '\\"')
