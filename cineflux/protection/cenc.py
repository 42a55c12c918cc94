"""Pure helpers of Common Encryption (ISO/IEC 23001-7, 'cenc') and W3C Clear Key.

Key ids travel three ways: 32 hex digits (ffmpeg, storage), a UUID (DASH
``cenc:default_KID``) and unpadded base64url (EME Clear Key licence requests and JWKs).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

CLEAR_KEY_SYSTEM_ID = "e2719d58-a985-b3c9-781a-b030af78d30e"
# W3C "cenc" initialization data: Clear Key reads key ids from a 'pssh' of this system id
# (Chromium refuses one of the DASH-IF Clear Key id above: "No supported PSSH box found").
COMMON_SYSTEM_ID = "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b"
CLEAR_KEY_URN = f"urn:uuid:{CLEAR_KEY_SYSTEM_ID}"
CLEAR_KEY = "org.w3.clearkey"
MP4_PROTECTION_SCHEME = "urn:mpeg:dash:mp4protection:2011"
CENC_NS = "urn:mpeg:cenc:2013"
DASHIF_NS = "https://dashif.org/CPS"
KEY_BYTES = 16
# A licence request names at most this many keys (a title has one per track kind).
MAX_KIDS = 16


class InvalidLicenceRequest(ValueError):
    """A licence request that is not the W3C Clear Key JSON format."""


def kid_uuid(kid_hex: str) -> str:
    """The key id as DASH writes it: ``cenc:default_KID="xxxxxxxx-xxxx-…"``."""
    return str(uuid.UUID(hex=kid_hex))


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JWKs and Clear Key requests spell bytes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def from_b64url(text: str) -> bytes:
    """The bytes of unpadded (or padded) base64url; ``InvalidLicenceRequest`` otherwise."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidLicenceRequest(f"{text[:40]!r} is not base64url") from error


@dataclass(frozen=True)
class LicenceRequest:
    """What a Clear Key CDM asks for: key ids (hex) and the session type."""

    kids: tuple[str, ...]
    session_type: str


def parse_clear_key_request(body: bytes) -> LicenceRequest:
    """Read an EME Clear Key licence request: ``{"kids": [b64url…], "type": "temporary"}``."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidLicenceRequest("a Clear Key licence request is JSON") from error
    if not isinstance(data, dict) or not isinstance(data.get("kids"), list):
        raise InvalidLicenceRequest('a Clear Key licence request has a "kids" list')
    kids = data["kids"]
    if not 1 <= len(kids) <= MAX_KIDS or not all(isinstance(k, str) for k in kids):
        raise InvalidLicenceRequest(f'"kids" holds 1 to {MAX_KIDS} base64url key ids')
    decoded = []
    for kid in kids:
        raw = from_b64url(kid)
        if len(raw) != KEY_BYTES:
            raise InvalidLicenceRequest("a key id is 16 bytes")
        decoded.append(raw.hex())
    session_type = data.get("type", "temporary")
    if session_type != "temporary":
        # Persistent licences are for downloads, which need their own rules.
        raise InvalidLicenceRequest("only temporary licences are issued")
    return LicenceRequest(kids=tuple(dict.fromkeys(decoded)), session_type=session_type)


def clear_key_licence(keys: Mapping[str, bytes], session_type: str = "temporary") -> bytes:
    """The Clear Key licence: a JWK set of symmetric keys (``kty: oct``) by key id."""
    jwks = [
        {"kty": "oct", "kid": b64url(bytes.fromhex(kid)), "k": b64url(key)}
        for kid, key in keys.items()
    ]
    return json.dumps({"keys": jwks, "type": session_type}, separators=(",", ":")).encode()


def ffmpeg_encryption_options(key: bytes, kid_hex: str) -> str:
    """The mp4 muxer's CENC options, as the HLS muxer passes them on to each segment."""
    return f"encryption_scheme=cenc-aes-ctr:encryption_key={key.hex()}:encryption_kid={kid_hex}"


def clear_key_pssh(kid_hexes: list[str]) -> bytes:
    """The W3C common 'pssh' box (version 1) listing the key ids, which Clear Key reads."""
    kids = b"".join(bytes.fromhex(kid) for kid in kid_hexes)
    body = (
        (1 << 24).to_bytes(4, "big")  # version 1, no flags
        + uuid.UUID(COMMON_SYSTEM_ID).bytes
        + len(kid_hexes).to_bytes(4, "big")
        + kids
        + (0).to_bytes(4, "big")  # no system data
    )
    return (8 + len(body)).to_bytes(4, "big") + b"pssh" + body
