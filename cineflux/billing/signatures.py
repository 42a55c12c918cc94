"""Webhook signatures: HMAC-SHA256 over a timestamp and the exact body (pure).

The header reads ``t=<unix seconds>,v1=<hex>``, as Stripe's does: the timestamp is signed
with the body, so an old delivery cannot be replayed with a fresh time, and a receiver
refuses anything older than its tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

SIGNATURE_HEADER = "Cineflux-Signature"


class WebhookRejected(Exception):
    """A webhook that must not be acted upon."""


class ForgedSignature(WebhookRejected):
    """The signature is missing, malformed, or not made with our secret."""


class StaleWebhook(WebhookRejected):
    """The signed timestamp is outside the tolerance (a replay, or a badly set clock)."""


def _mac(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    """The signature header for ``body`` sent at ``timestamp`` (Unix seconds)."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(
    secret: bytes, body: bytes, header: str | None, *, now: datetime, tolerance_seconds: int
) -> int:
    """Check a signature header against ``body``; the signed timestamp, or raise.

    Several ``v1`` values are accepted (one per secret while a secret is being rotated).
    """
    if not header:
        raise ForgedSignature("no signature")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise ForgedSignature("malformed signature header")
    expected = _mac(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise ForgedSignature("signature does not match")
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        raise StaleWebhook(f"signed {int(now.timestamp()) - timestamp} s ago")
    return timestamp
