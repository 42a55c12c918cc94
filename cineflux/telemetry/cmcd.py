"""CTA-5004 Common Media Client Data: parsing what players attach to media requests.

Pure functions. Players send CMCD as one query argument, ``CMCD=<url-encoded payload>``;
the payload is ``key[=value]`` pairs joined by commas, a key alone meaning ``true``.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

CmcdValue = int | float | str | bool

MAX_PAYLOAD_CHARS = 2048  # far above the ~300 characters of a full v1 payload
MAX_STRING_CHARS = 64  # CTA-5004 caps cid and sid at 64 characters

# The CTA-5004 (v1) keys and the type of their value.
INTEGER_KEYS = frozenset({"br", "bl", "d", "dl", "mtp", "rtp", "tb", "v"})
DECIMAL_KEYS = frozenset({"pr"})
STRING_KEYS = frozenset({"cid", "sid", "nor", "nrr"})
BOOLEAN_KEYS = frozenset({"bs", "su"})
TOKEN_VALUES = {
    "ot": frozenset({"m", "a", "v", "av", "i", "c", "tt", "k", "o"}),
    "sf": frozenset({"d", "h", "s", "o"}),
    "st": frozenset({"v", "l"}),
}
# Custom keys carry a hyphenated prefix (``com.example-key``); v2 adds plain keys too.
_KEY = re.compile(r"^[a-z][a-z0-9.]*(-[A-Za-z0-9.]+)?$")
_INTEGER = re.compile(r"^-?[0-9]{1,15}$")
_DECIMAL = re.compile(r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$")
_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~:/-]{0,63}$")


class InvalidCmcd(ValueError):
    """The CMCD data does not follow CTA-5004."""


def parse_cmcd_query(query: str) -> dict[str, CmcdValue]:
    """The CMCD data of a query string or URL (``…?CMCD=br%3D3200%2Cbs``), as a dict."""
    if "?" in query or "://" in query:
        query = urlsplit(query).query
    values = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "CMCD"]
    if len(values) != 1:
        raise InvalidCmcd("expected exactly one CMCD query argument")
    return parse_cmcd_payload(values[0])


def parse_cmcd_payload(payload: str) -> dict[str, CmcdValue]:
    """The decoded payload (``br=3200,bs,cid="x"``) as a dict of typed values.

    Known keys are typed strictly; other well-formed keys are kept as sent, because
    receivers must tolerate keys from later versions and custom ones.
    """
    if len(payload) > MAX_PAYLOAD_CHARS:
        raise InvalidCmcd(f"CMCD payload longer than {MAX_PAYLOAD_CHARS} characters")
    result: dict[str, CmcdValue] = {}
    if payload == "":
        return result
    for key, raw in _pairs(payload):
        if not _KEY.match(key):
            raise InvalidCmcd(f"invalid CMCD key {key!r}")
        if key in result:
            raise InvalidCmcd(f"CMCD key {key!r} repeated")
        result[key] = _typed(key, raw)
    return result


def _pairs(payload: str) -> list[tuple[str, str | None]]:
    """Split on commas outside quoted strings; ``None`` is a key without a value."""
    pairs: list[tuple[str, str | None]] = []
    position = 0
    while True:
        key_end = position
        while key_end < len(payload) and payload[key_end] not in "=,":
            key_end += 1
        key = payload[position:key_end]
        value: str | None = None
        end = key_end
        if key_end < len(payload) and payload[key_end] == "=":
            if payload.startswith('"', key_end + 1):
                end = _closing_quote(payload, key_end + 1)
            else:
                found = payload.find(",", key_end + 1)
                end = len(payload) if found < 0 else found
            value = payload[key_end + 1 : end]
        pairs.append((key, value))
        if end == len(payload):
            return pairs
        if payload[end] != ",":
            raise InvalidCmcd(f"unexpected text after the value of {key!r}")
        position = end + 1


def _closing_quote(payload: str, start: int) -> int:
    """The index just past the string starting at ``start`` (backslash escapes allowed)."""
    index = start + 1
    while index < len(payload):
        if payload[index] == "\\":
            index += 2
            continue
        if payload[index] == '"':
            return index + 1
        index += 1
    raise InvalidCmcd("unterminated CMCD string")


def _typed(key: str, raw: str | None) -> CmcdValue:
    if raw is None:
        if key in INTEGER_KEYS | DECIMAL_KEYS | STRING_KEYS or key in TOKEN_VALUES:
            raise InvalidCmcd(f"CMCD key {key!r} needs a value")
        return True
    if key in BOOLEAN_KEYS:
        # CTA-5004 sends true as the bare key; "false" is the only value allowed.
        if raw != "false":
            raise InvalidCmcd(f"CMCD key {key!r} is a boolean")
        return False
    if key in INTEGER_KEYS:
        if not _INTEGER.match(raw):
            raise InvalidCmcd(f"CMCD key {key!r} needs an integer")
        return int(raw)
    if key in DECIMAL_KEYS:
        if not _DECIMAL.match(raw):
            raise InvalidCmcd(f"CMCD key {key!r} needs a decimal")
        return float(raw)
    if key in STRING_KEYS:
        if not (raw.startswith('"') and raw.endswith('"') and len(raw) >= 2):
            raise InvalidCmcd(f"CMCD key {key!r} needs a quoted string")
        text = _unquote(raw)
        # Only the ids are capped by CTA-5004; nor and nrr are URLs, bounded by the payload.
        if key in ("cid", "sid") and len(text) > MAX_STRING_CHARS:
            raise InvalidCmcd(f"CMCD key {key!r} longer than {MAX_STRING_CHARS} characters")
        return text
    if key in TOKEN_VALUES:
        if raw not in TOKEN_VALUES[key]:
            raise InvalidCmcd(f"CMCD key {key!r} has an unknown token {raw!r}")
        return raw
    return _untyped(key, raw)


def _untyped(key: str, raw: str) -> CmcdValue:
    """A value of a key this parser does not know, typed by its spelling."""
    if raw == "false":
        return False
    if _INTEGER.match(raw):
        return int(raw)
    if _DECIMAL.match(raw):
        return float(raw)
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return _unquote(raw)[:MAX_STRING_CHARS]
    if _TOKEN.match(raw):
        return raw
    raise InvalidCmcd(f"CMCD key {key!r} has a malformed value")


def _unquote(raw: str) -> str:
    inner = raw[1:-1]
    return re.sub(r"\\(.)", r"\1", inner)
