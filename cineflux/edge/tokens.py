"""Signed edge URLs, verified without any lookup (in the spirit of RFC 9246 and EdgeAuth).

A token is one URL path segment, so that the relative segment URLs inside HLS and DASH
manifests inherit it::

    /t/<key id>.<expires>.<session id>.<base64url path prefix>.<base64url HMAC-SHA256>/<path>

The MAC covers the key id, the expiry (Unix seconds), the playback session id and the ACL:
the path prefix the token opens, and the directories under it that it does not (the video
rungs above the viewer's plan, as ``prefix!video/r2160,video/r1440``): the personalised
manifest leaves those rungs out, and the token keeps a player that asks for them anyway
from fetching them (``!`` is outside the path alphabet, so the two parts cannot be mixed).
Edges hold a set of keys by id, so keys rotate by adding a new id to every edge, signing
with it, then removing the old one once its tokens expired.
Everything here is pure: no clock (``now`` is passed in), no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

TOKEN_ROUTE = "/t"  # noqa: S105 (a URL path, not a secret)
_MAC_CONTEXT = b"cineflux-edge-token-v1"
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Object paths are made by the packager: a strict alphabet keeps every trick out
# (percent-encoding, backslashes, NUL, spaces) before any file system is consulted.
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*")
MAX_PATH_LENGTH = 1024
_WITHHELD = "!"  # between the prefix and the directories it withholds


class TokenError(Exception):
    """A request the edge refuses; ``status`` is the HTTP answer."""

    status = 403


class TokenForged(TokenError):
    """Malformed, signed by an unknown key, or a MAC that does not match."""


class TokenExpired(TokenError):
    """A genuine token past its expiry."""

    status = 410


class OutsidePrefix(TokenError):
    """A genuine token used for a path outside the prefix it opens."""


class UnsafePath(TokenError):
    """A path that is not a plain relative object path (``..``, encoded slashes, ...)."""

    status = 400


@dataclass(frozen=True)
class EdgeToken:
    """What a verified token says."""

    key_id: str
    expires: int
    session_id: str
    path_prefix: str
    # Directories under the prefix the token does not open (``video/r2160``).
    withheld: tuple[str, ...] = ()


def parse_keys(spec: str) -> dict[str, bytes]:
    """Keys from ``"id1:secret1,id2:secret2"``; the first is the one to sign with."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, sep, secret = item.partition(":")
        if not sep or not _ID.fullmatch(key_id) or len(secret) < 16:
            raise ValueError("edge token keys are 'id:secret' pairs, secrets of 16+ characters")
        keys[key_id] = secret.encode()
    if not keys:
        raise ValueError("at least one edge token key is needed")
    return keys


def check_object_path(path: str) -> str:
    """``path`` (``/titles/x/seg.m4s``) if it is a plain object path, else ``UnsafePath``."""
    if not path.startswith("/") or len(path) > MAX_PATH_LENGTH:
        raise UnsafePath("not an object path")
    segments = path[1:].split("/")
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        # A trailing slash is allowed only on a prefix, checked by the caller.
        if segment == "" and index == last and index > 0:
            continue
        if not _PATH_SEGMENT.fullmatch(segment) or segment in (".", ".."):
            raise UnsafePath("not an object path")
    return path


def _mac(key: bytes, key_id: str, expires: int, session_id: str, prefix: str) -> bytes:
    message = b"\n".join(
        [_MAC_CONTEXT, key_id.encode(), str(expires).encode(), session_id.encode(), prefix.encode()]
    )
    return hmac.new(key, message, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _acl(path_prefix: str, withheld: Iterable[str]) -> str:
    """The ACL text of a prefix and the directories under it it withholds (sorted, unique)."""
    check_object_path(path_prefix)
    directories = sorted(set(withheld))
    if not directories:
        return path_prefix
    if not path_prefix.endswith("/"):
        raise ValueError("only a directory prefix can withhold directories under it")
    for directory in directories:
        try:
            check_object_path(f"/{directory}")
        except UnsafePath:
            raise ValueError(f"not a plain directory path: {directory!r}") from None
        if directory.endswith("/"):
            raise ValueError("withheld directories are named without a trailing slash")
    return path_prefix + _WITHHELD + ",".join(directories)


def _parse_acl(acl: str) -> tuple[str, tuple[str, ...]]:
    """The prefix and the withheld directories of an ACL text (``_acl``'s inverse)."""
    prefix, mark, rest = acl.partition(_WITHHELD)
    return prefix, tuple(rest.split(",")) if mark else ()


def sign_token(
    *,
    key_id: str,
    key: bytes,
    path_prefix: str,
    session_id: str,
    expires: int,
    withheld: Iterable[str] = (),
) -> str:
    """A token opening every object under ``path_prefix`` until ``expires`` (Unix seconds),
    except those in the ``withheld`` directories (relative to the prefix: ``video/r2160``)."""
    if not _ID.fullmatch(key_id) or not _ID.fullmatch(session_id):
        raise ValueError("key and session ids are 1-64 characters of [A-Za-z0-9_-]")
    acl = _acl(path_prefix, withheld)
    mac = _mac(key, key_id, expires, session_id, acl)
    return f"{key_id}.{expires}.{session_id}.{_b64(acl.encode())}.{_b64(mac)}"


def signed_path(token: str, path: str) -> str:
    """The URL path serving ``path`` under ``token``."""
    return f"{TOKEN_ROUTE}/{token}{check_object_path(path)}"


def split_signed_path(raw_path: str) -> tuple[str, str]:
    """``(token, object path)`` from a raw request path; ``UnsafePath`` if it has no token."""
    head = TOKEN_ROUTE + "/"
    if not raw_path.startswith(head):
        raise UnsafePath("no token in the path")
    token, slash, rest = raw_path[len(head) :].partition("/")
    if not slash or not token:
        raise UnsafePath("no token in the path")
    return token, "/" + rest


def verify_token(token: str, *, keys: Mapping[str, bytes], path: str, now: float) -> EdgeToken:
    """The token's claims if it is genuine, unexpired and opens ``path``; else a TokenError.

    Forgery is checked before expiry, so a forged token never learns whether it expired.
    """
    check_object_path(path)
    if path.endswith("/"):
        raise UnsafePath("not an object path")
    parts = token.split(".")
    if len(parts) != 5 or len(token) > 2 * MAX_PATH_LENGTH:
        raise TokenForged("malformed token")
    key_id, expires_text, session_id, acl_b64, mac_b64 = parts
    key = keys.get(key_id)
    if key is None or not expires_text.isdigit() or len(expires_text) > 12:
        raise TokenForged("unknown key or malformed token")
    try:
        acl = _unb64(acl_b64).decode()
        mac = _unb64(mac_b64)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise TokenForged("malformed token") from None
    expires = int(expires_text)
    expected = _mac(key, key_id, expires, session_id, acl)
    if not hmac.compare_digest(mac, expected) or _b64(mac) != mac_b64:
        raise TokenForged("signature mismatch")
    # One spelling per token: base64 decoding skips stray characters and int() leading zeros,
    # so the fields must be exactly what sign_token writes.
    if _b64(acl.encode()) != acl_b64 or str(expires) != expires_text:
        raise TokenForged("non-canonical token")
    if now >= expires:
        raise TokenExpired("token expired")
    prefix, withheld = _parse_acl(acl)
    if not _opens(prefix, withheld, path):
        raise OutsidePrefix("path outside what the token opens")
    return EdgeToken(
        key_id=key_id,
        expires=expires,
        session_id=session_id,
        path_prefix=prefix,
        withheld=withheld,
    )


def _opens(prefix: str, withheld: tuple[str, ...], path: str) -> bool:
    """A prefix ending in ``/`` opens a directory tree but its withheld directories; any
    other opens one exact path."""
    if not prefix.endswith("/"):
        return path == prefix
    if not path.startswith(prefix):
        return False
    rest = path[len(prefix) :]
    return not any(rest.startswith(directory + "/") for directory in withheld)


def sign_request(*, key_id: str, key: bytes, method: str, target: str, body: bytes, at: int) -> str:
    """The ``X-Cineflux-Edge-Signature`` an edge sends with a heartbeat or a plan request."""
    digest = hmac.new(key, _request_message(method, target, body, at), hashlib.sha256)
    return f"{key_id}:{at}:{digest.hexdigest()}"


def verify_request(
    header: str | None,
    *,
    keys: Mapping[str, bytes],
    method: str,
    target: str,
    body: bytes,
    now: float,
    tolerance: int = 300,
) -> str:
    """The key id that signed an edge's request, or ``TokenForged``/``TokenExpired``."""
    key_id, _, rest = (header or "").partition(":")
    at_text, _, signature = rest.partition(":")
    key = keys.get(key_id)
    if key is None or not at_text.isdigit() or len(at_text) > 12:
        raise TokenForged("unsigned or malformed request")
    expected = hmac.new(key, _request_message(method, target, body, int(at_text)), hashlib.sha256)
    if not hmac.compare_digest(signature, expected.hexdigest()):
        raise TokenForged("signature mismatch")
    if abs(now - int(at_text)) > tolerance:
        raise TokenExpired("request signed too long ago")
    return key_id


def _request_message(method: str, target: str, body: bytes, at: int) -> bytes:
    return b"\n".join(
        [b"cineflux-edge-request-v1", method.encode(), target.encode(), str(at).encode(), body]
    )


def loggable_path(raw_path: str) -> str:
    """A request path fit for a log line: a signed path loses its token (a credential)."""
    if not raw_path.startswith(TOKEN_ROUTE + "/"):
        return raw_path
    try:
        return f"{TOKEN_ROUTE}/-{split_signed_path(raw_path)[1]}"
    except UnsafePath:
        return f"{TOKEN_ROUTE}/-"
