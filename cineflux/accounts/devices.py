"""Devices: RFC 8628 device authorisation, access tokens, rotating refresh tokens.

A TV asks for a device code and shows the user code; the subscriber approves it on
``/activate``; the TV polls and receives a short-lived signed access token and a refresh
token. Each refresh token is used once and replaced (OAuth 2.1 rotation); presenting a used
one again means it leaked, so the whole device session (the token family) is revoked.
Services flush and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cineflux.accounts.models import DeviceAuthorization, DeviceSession, RefreshToken, User
from cineflux.accounts.service import AccountError, SignedInUser, as_signed_in
from cineflux.accounts.tokens import (
    hash_token,
    issue_access_token,
    new_secret_token,
    new_user_code,
    normalise_user_code,
    read_access_token,
)
from cineflux.clock import Clock

ACCESS_TOKEN_TTL = timedelta(minutes=15)
REFRESH_TOKEN_TTL = timedelta(days=30)
DEVICE_CODE_TTL = timedelta(minutes=10)
POLL_INTERVAL = 5
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: the interval grows by 5 s at each "slow_down"
# Expired requests are kept a while so a late poll still hears "expired_token".
EXPIRED_KEPT = timedelta(hours=1)


class DeviceError(AccountError):
    """Base of the device flow's errors."""


class GrantError(DeviceError):
    """A token request refused with an OAuth error code (RFC 6749 §5.2, RFC 8628 §3.5)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class UserCodeInvalid(DeviceError):
    """The code typed on ``/activate`` names no pending request (wrong, expired or used)."""


class DeviceSessionNotFound(DeviceError):
    """No device session of this user has that id."""


@dataclass(frozen=True)
class DeviceCode:
    """What a TV receives when it starts the flow (the codes themselves are never stored)."""

    device_code: str
    user_code: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class TokenPair:
    """An access token and the refresh token that replaces it."""

    access_token: str
    expires_in: int
    refresh_token: str
    session_id: str


def start_device_authorization(session: Session, *, clock: Clock) -> DeviceCode:
    """Open a device authorisation request (RFC 8628 §3.1-3.2)."""
    now = clock.now()
    session.execute(
        delete(DeviceAuthorization).where(DeviceAuthorization.expires_at <= now - EXPIRED_KEPT)
    )
    while True:
        user_code = new_user_code()
        taken = session.scalar(
            select(DeviceAuthorization.id).where(
                DeviceAuthorization.user_code_hash == hash_token(user_code)
            )
        )
        if taken is None:  # 20^8 codes: a clash is rare, but the column is unique
            break
    device_code = new_secret_token()
    session.add(
        DeviceAuthorization(
            device_code_hash=hash_token(device_code),
            user_code_hash=hash_token(user_code),
            created_at=now,
            expires_at=now + DEVICE_CODE_TTL,
            interval_seconds=POLL_INTERVAL,
            status="pending",
        )
    )
    session.flush()
    return DeviceCode(
        device_code=device_code,
        user_code=user_code,
        expires_in=int(DEVICE_CODE_TTL.total_seconds()),
        interval=POLL_INTERVAL,
    )


def poll_outcome(
    *,
    status: str,
    now: datetime,
    expires_at: datetime,
    last_polled_at: datetime | None,
    interval: int,
) -> str:
    """What a poll of the token endpoint answers (RFC 8628 §3.5), from the request's state.

    One of ``authorization_pending``, ``slow_down``, ``access_denied``, ``expired_token``,
    ``invalid_grant`` (already used) or ``approved`` (issue the tokens).
    """
    if status == "consumed":
        return "invalid_grant"
    if status == "denied":
        return "access_denied"
    if now >= expires_at:
        return "expired_token"
    if status == "approved":
        return "approved"
    if last_polled_at is not None and now - last_polled_at < timedelta(seconds=interval):
        return "slow_down"
    return "authorization_pending"


def poll_device_token(
    session: Session, *, clock: Clock, signing_key: bytes, device_code: str
) -> TokenPair:
    """The tokens of an approved request, once; raise ``GrantError`` otherwise.

    Changes (the poll instant, a longer interval) are flushed before raising: the caller
    commits them with its error response.
    """
    now = clock.now()
    request = session.scalar(
        select(DeviceAuthorization).where(
            DeviceAuthorization.device_code_hash == hash_token(device_code)
        )
    )
    if request is None:
        raise GrantError("invalid_grant", "unknown device code")
    outcome = poll_outcome(
        status=request.status,
        now=now,
        expires_at=request.expires_at,
        last_polled_at=request.last_polled_at,
        interval=request.interval_seconds,
    )
    request.last_polled_at = now
    if outcome == "slow_down":
        request.interval_seconds += SLOW_DOWN_STEP
    session.flush()
    if outcome != "approved":
        raise GrantError(outcome, _POLL_DESCRIPTIONS[outcome])
    # Conditional: of two polls racing on one approval, only one gets tokens.
    claimed = session.execute(
        update(DeviceAuthorization)
        .where(DeviceAuthorization.id == request.id, DeviceAuthorization.status == "approved")
        .values(status="consumed")
    )
    if getattr(claimed, "rowcount", 0) != 1 or request.user_id is None:
        raise GrantError("invalid_grant", _POLL_DESCRIPTIONS["invalid_grant"])
    device = DeviceSession(user_id=request.user_id, created_at=now, last_used_at=now)
    session.add(device)
    session.flush()
    return _issue(session, signing_key=signing_key, device=device, now=now)


_POLL_DESCRIPTIONS = {
    "authorization_pending": "the subscriber has not answered yet",
    "slow_down": "polling too fast: wait 5 seconds more between requests",
    "access_denied": "the subscriber refused this device",
    "expired_token": "the code expired: start again",
    "invalid_grant": "this device code was already used",
}


def _pending_request(
    session: Session, *, now: datetime, user_code: str
) -> tuple[DeviceAuthorization, str]:
    canonical = normalise_user_code(user_code)
    request = None
    if canonical is not None:
        request = session.scalar(
            select(DeviceAuthorization).where(
                DeviceAuthorization.user_code_hash == hash_token(canonical)
            )
        )
    if canonical is None or request is None:
        raise UserCodeInvalid("this code is wrong or expired: check the code on the TV")
    if request.status != "pending" or request.expires_at <= now:
        raise UserCodeInvalid("this code is wrong or expired: check the code on the TV")
    return request, canonical


def check_user_code(session: Session, *, clock: Clock, user_code: str) -> str:
    """The canonical form of a code awaiting approval; raise ``UserCodeInvalid``."""
    return _pending_request(session, now=clock.now(), user_code=user_code)[1]


def decide_device(
    session: Session, *, clock: Clock, user_id: str, user_code: str, approve: bool
) -> None:
    """The signed-in subscriber approves (for their own account) or denies a device."""
    now = clock.now()
    request, _ = _pending_request(session, now=now, user_code=user_code)
    request.status = "approved" if approve else "denied"
    request.user_id = user_id if approve else None
    request.decided_at = now
    session.flush()


def _issue(
    session: Session, *, signing_key: bytes, device: DeviceSession, now: datetime
) -> TokenPair:
    refresh = new_secret_token()
    session.add(
        RefreshToken(
            token_hash=hash_token(refresh),
            session_id=device.id,
            created_at=now,
            expires_at=now + REFRESH_TOKEN_TTL,
        )
    )
    session.flush()
    access = issue_access_token(
        signing_key, user_id=device.user_id, session_id=device.id, now=now, ttl=ACCESS_TOKEN_TTL
    )
    return TokenPair(
        access_token=access,
        expires_in=int(ACCESS_TOKEN_TTL.total_seconds()),
        refresh_token=refresh,
        session_id=device.id,
    )


def refresh_tokens(
    session: Session, *, clock: Clock, signing_key: bytes, refresh_token: str
) -> TokenPair:
    """Exchange a refresh token for new tokens; raise ``GrantError("invalid_grant")``.

    A refresh token presented twice revokes its whole device session: whoever holds the
    stolen copy and the legitimate device both lose access until a new sign-in. The
    revocation is flushed before raising, for the caller to commit.
    """
    now = clock.now()
    row = session.execute(
        select(RefreshToken, DeviceSession)
        .join(DeviceSession, DeviceSession.id == RefreshToken.session_id)
        .where(RefreshToken.token_hash == hash_token(refresh_token))
    ).one_or_none()
    if row is None:
        raise GrantError("invalid_grant", "unknown refresh token")
    token, device = row
    if device.revoked_at is not None:
        raise GrantError("invalid_grant", "this device was signed out")
    if token.expires_at <= now:
        raise GrantError("invalid_grant", "refresh token expired")
    used = session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == token.token_hash, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    if getattr(used, "rowcount", 0) != 1:
        _revoke(session, device, now=now, reason="refresh token reused")
        raise GrantError("invalid_grant", "refresh token reused: the device is signed out")
    device.last_used_at = now
    return _issue(session, signing_key=signing_key, device=device, now=now)


def _revoke(session: Session, device: DeviceSession, *, now: datetime, reason: str) -> None:
    if device.revoked_at is None:
        device.revoked_at = now
        device.revoked_reason = reason
    session.flush()


def revoke_refresh_token(session: Session, *, clock: Clock, refresh_token: str) -> None:
    """Sign a device out by its refresh token (RFC 7009); unknown tokens are ignored."""
    device = session.scalar(
        select(DeviceSession)
        .join(RefreshToken, RefreshToken.session_id == DeviceSession.id)
        .where(RefreshToken.token_hash == hash_token(refresh_token))
    )
    if device is not None:
        _revoke(session, device, now=clock.now(), reason="signed out")


def resolve_access_token(
    session: Session, *, clock: Clock, signing_key: bytes, token: str
) -> SignedInUser | None:
    """The user behind a bearer access token, unless it is forged, expired or revoked."""
    claims = read_access_token(signing_key, token, now=clock.now())
    if claims is None:
        return None
    row = session.execute(
        select(DeviceSession, User)
        .join(User, User.id == DeviceSession.user_id)
        .where(
            DeviceSession.id == claims.session_id,
            DeviceSession.user_id == claims.user_id,
            DeviceSession.revoked_at.is_(None),
        )
    ).one_or_none()
    if row is None:
        return None
    _, user = row
    # Bound to the device session, so per-session HMACs (CSRF, profile choice) still work.
    return as_signed_in(user, session_token_hash=hash_token(f"device:{claims.session_id}"))


def device_sessions_of(session: Session, *, user_id: str) -> list[DeviceSession]:
    """The user's signed-in devices, most recently used first."""
    return list(
        session.scalars(
            select(DeviceSession)
            .where(DeviceSession.user_id == user_id, DeviceSession.revoked_at.is_(None))
            .order_by(DeviceSession.last_used_at.desc())
        )
    )


def sign_out_device(session: Session, *, clock: Clock, user_id: str, session_id: str) -> None:
    """Revoke one of the user's devices; raise ``DeviceSessionNotFound`` for anyone else's."""
    device = session.get(DeviceSession, session_id)
    if device is None or device.user_id != user_id or device.revoked_at is not None:
        raise DeviceSessionNotFound("no such device")
    _revoke(session, device, now=clock.now(), reason="signed out")
