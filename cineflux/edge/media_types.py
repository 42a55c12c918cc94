"""What an object path says about its answer: Content-Type, Cache-Control, byte ranges.

Pure, and shared by the control plane's media route and the edges, so that a player gets the
same headers whichever of them answers.
"""

from __future__ import annotations

from pathlib import PurePosixPath

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mpd": "application/dash+xml",
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".m4a": "audio/mp4",
    ".vtt": "text/vtt; charset=utf-8",
    ".jpg": "image/jpeg",
    ".png": "image/png",
}

# Published packages never change in place (a new encode gets a new prefix), so segments and
# images may be cached for a year; manifests get a short life so that a later change of what
# a title offers (more rungs, withdrawn title) reaches players quickly.
SEGMENT_MAX_AGE = 365 * 24 * 3600
MANIFEST_MAX_AGE = 60
MANIFEST_SUFFIXES = (".m3u8", ".mpd")


class RangeNotSatisfiable(Exception):
    """A Range that lies outside the object."""


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The single byte range asked for, inclusive, or None for the whole object.

    Multiple ranges and malformed headers are answered with the whole object, as RFC 9110
    allows; ranges wholly past the end raise ``RangeNotSatisfiable`` (416).
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, sep, last = header[len("bytes=") :].strip().partition("-")
    if not sep:
        return None
    try:
        if first == "":
            length = int(last)
            if length <= 0:
                raise RangeNotSatisfiable(header)
            return max(0, size - length), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size:
        raise RangeNotSatisfiable(header)
    if end < start:
        return None
    return start, min(end, size - 1)


def content_type_for(key: str) -> str:
    """The Content-Type of a stored file, by its extension."""
    return CONTENT_TYPES.get(PurePosixPath(key).suffix.lower(), "application/octet-stream")


def cache_control_for(key: str) -> str:
    """The Cache-Control of a stored file: private, since the files need a signed-in user."""
    suffix = PurePosixPath(key).suffix.lower()
    if suffix in MANIFEST_SUFFIXES:
        return f"private, max-age={MANIFEST_MAX_AGE}"
    return f"private, max-age={SEGMENT_MAX_AGE}, immutable"
