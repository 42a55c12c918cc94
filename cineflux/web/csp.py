"""The Content-Security-Policy of pages: the app's own sources, plus a playback's edges."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit


def content_security_policy(media_servers: Iterable[str] = ()) -> str:
    """The policy for a page; ``media_servers`` are base URLs the player may fetch from."""
    origins = sorted({_origin(url) for url in media_servers} - {""})
    extra = "".join(f" {origin}" for origin in origins)
    return (
        f"default-src 'self'; img-src 'self' data:{extra}; media-src 'self' blob: data:; "
        f"connect-src 'self'{extra}; script-src 'self'; style-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'"
    )


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of an http(s) URL, or "" for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"
