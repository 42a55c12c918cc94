"""Which profile a browser is using: a cookie bound to the session, so it cannot be forged.

The cookie names the profile and carries an HMAC over the session and the profile: choosing
a PIN-protected profile is only possible through the PIN check that sets it, and a cookie
copied to another session (or another account) is worthless.
"""

from __future__ import annotations

import hashlib
import hmac

PROFILE_COOKIE = "cineflux_profile"
PROFILE_HEADER = "X-Cineflux-Profile"


def _signature(key: bytes, session_token_hash: str, profile_id: str) -> str:
    message = f"profile:{session_token_hash}:{profile_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def profile_cookie(key: bytes, *, session_token_hash: str, profile_id: str) -> str:
    """The cookie value that selects ``profile_id`` for this session."""
    return f"{profile_id}.{_signature(key, session_token_hash, profile_id)}"


def selected_profile_id(key: bytes, *, session_token_hash: str, cookie: str | None) -> str | None:
    """The profile a valid cookie selects for this session, else None."""
    if not cookie or "." not in cookie:
        return None
    profile_id, _, signature = cookie.rpartition(".")
    expected = _signature(key, session_token_hash, profile_id)
    return profile_id if hmac.compare_digest(expected, signature) else None


ADULT_COOKIE = "cineflux_adult"


def adult_cookie(key: bytes, *, session_token_hash: str) -> str:
    """Proof, for this session only, that the account's -18 code was entered."""
    message = f"adult:{session_token_hash}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def adult_cookie_valid(key: bytes, *, session_token_hash: str, cookie: str | None) -> bool:
    """Whether ``cookie`` proves the -18 code was entered in this session."""
    if not cookie:
        return False
    return hmac.compare_digest(adult_cookie(key, session_token_hash=session_token_hash), cookie)
