"""Pure token logic: hashes, signed access tokens, device user codes, sign-in lockout.

Nothing here touches the database or the network; the services store and look up what
these functions produce.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ACCESS_TOKEN_PREFIX = "cfx1"  # noqa: S105 (the format's version tag)
# RFC 8628 §6.1: consonants only (no vowels, so no words; no 0/O, 1/I confusion).
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored; tokens are random, so no salt."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret_token() -> str:
    """A random token (256 bits, URL-safe): sessions, refresh tokens, mailed links, device codes."""
    return secrets.token_urlsafe(32)


def new_user_code() -> str:
    """A code a person types on a phone: eight consonants, shown as ``XXXX-XXXX``."""
    letters = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    return f"{letters[:4]}-{letters[4:]}"


def normalise_user_code(typed: str) -> str | None:
    """A typed code in its canonical ``XXXX-XXXX`` form; None if it cannot be one.

    Case, spaces and dashes do not matter, as RFC 8628 §6.1 asks.
    """
    letters = "".join(ch for ch in typed.upper() if ch not in " -\t")
    if len(letters) != USER_CODE_LENGTH or any(ch not in USER_CODE_ALPHABET for ch in letters):
        return None
    return f"{letters[:4]}-{letters[4:]}"


@dataclass(frozen=True)
class AccessClaims:
    """What a valid access token says: whose it is, which device session, until when."""

    user_id: str
    session_id: str
    expires_at: datetime


def _access_key(signing_key: bytes) -> bytes:
    # A key of its own, so no other HMAC made with the signing key (CSRF) can pass as one.
    return hmac.new(signing_key, b"cineflux access token v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_access_token(
    signing_key: bytes, *, user_id: str, session_id: str, now: datetime, ttl: timedelta
) -> str:
    """``cfx1.<claims>.<HMAC-SHA256>``: readable without a lookup, valid until ``now + ttl``."""
    claims = {
        "sub": user_id,
        "sid": session_id,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    body = f"{ACCESS_TOKEN_PREFIX}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
    signature = hmac.new(_access_key(signing_key), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(signature)}"


def read_access_token(signing_key: bytes, token: str, *, now: datetime) -> AccessClaims | None:
    """The claims of a genuine, unexpired access token; None for anything else."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != ACCESS_TOKEN_PREFIX:
        return None
    body = f"{parts[0]}.{parts[1]}"
    expected = hmac.new(_access_key(signing_key), body.encode(), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(expected, _unb64(parts[2])):
            return None
        claims = json.loads(_unb64(parts[1]))
        user_id, session_id, expires = claims["sub"], claims["sid"], claims["exp"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    if not isinstance(user_id, str) or not isinstance(session_id, str):
        return None
    if not isinstance(expires, int):
        return None
    expires_at = datetime.fromtimestamp(expires, UTC)
    if now >= expires_at:
        return None
    return AccessClaims(user_id=user_id, session_id=session_id, expires_at=expires_at)


def locked_until(
    failures: Sequence[datetime], *, limit: int, window: timedelta, now: datetime
) -> datetime | None:
    """When sign-in opens again, if ``limit`` failures fall within the sliding ``window``.

    The lock ends when the oldest of the last ``limit`` failures leaves the window.
    """
    recent = sorted(at for at in failures if at > now - window)
    if len(recent) < limit:
        return None
    return recent[-limit] + window


def retry_after_seconds(until: datetime, now: datetime) -> int:
    """Whole seconds to wait (``Retry-After``), never zero."""
    return max(1, int((until - now).total_seconds() + 0.999))
