"""Reading an edge's flags: sizes, listen addresses, upstream URLs. Pure."""

from __future__ import annotations

import re

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)I?B?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int:
    """Bytes from ``"50G"``, ``"200M"``, ``"1.5T"`` or a plain number (binary units)."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 200M, 50G)")
    value = float(match.group(1)) * _UNITS[match.group(2).upper()]
    if value < 1:
        raise ValueError("a cache size must be positive")
    return int(value)


def parse_listen(text: str) -> tuple[str, int]:
    """``(host, port)`` from ``"host:port"``, ``":port"`` or ``"[::1]:port"``."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"listen on host:port, not {text!r}")
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104 (an edge serves the network)
    return host, int(port)


def check_upstream(url: str) -> str:
    """``url`` if it is an upstream the edge can fetch from (http, https or file)."""
    if re.fullmatch(r"https?://[^/\s]+(/\S*)?", url) or re.fullmatch(r"file:///\S*", url):
        return url.rstrip("/") if not url.startswith("file://") else url
    raise ValueError(f"upstreams are http(s)://host[:port] or file:///directory, not {url!r}")


def default_public_url(host: str, port: int) -> str:
    """What players use when no public URL is given: the listen address."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"
