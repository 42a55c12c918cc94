"""Accounts: creating users, checking passwords, opening and closing web sessions.

Services flush and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cineflux.accounts.models import User, WebSession
from cineflux.clock import Clock
from cineflux.rights.territory import UnknownTerritoryCode, normalise_territory

ROLES = ("subscriber", "operator")
MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# argon2id with the RFC 9106 "second recommended" low-memory parameters (the library default).
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so timing does not reveal who has an account."""
    return _hasher.hash(secrets.token_urlsafe(16))


class AccountError(Exception):
    """Base of the accounts domain's errors."""


class InvalidCredentials(AccountError):
    """Wrong email or password (deliberately not saying which)."""


class EmailTaken(AccountError):
    """An account already uses this email."""


class InvalidAccountData(AccountError):
    """An email, password or role that cannot be accepted."""


@dataclass(frozen=True)
class SignedInUser:
    """Who is behind a session, as the web layer needs it."""

    id: str
    email: str
    display_name: str
    role: str
    session_token_hash: str
    home_country: str | None = None
    home_country_verified: bool = False


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def create_user(
    session: Session,
    *,
    clock: Clock,
    email: str,
    password: str,
    display_name: str | None = None,
    role: str = "subscriber",
) -> User:
    """Register a user; raise ``EmailTaken`` or ``InvalidAccountData``."""
    email = normalise_email(email)
    if not _EMAIL.match(email):
        raise InvalidAccountData(f"not an email address: {email!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccountData(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if role not in ROLES:
        raise InvalidAccountData(f"role must be one of {', '.join(ROLES)}")
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise EmailTaken(email)
    user = User(
        email=email,
        password_hash=hash_password(password),
        display_name=(display_name or email.split("@")[0]).strip()[:120],
        role=role,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, *, email: str, password: str) -> User:
    """The user with these credentials; raise ``InvalidCredentials`` otherwise."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    try:
        if user is None:
            _hasher.verify(_dummy_hash(), password)
            raise InvalidCredentials()
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise InvalidCredentials() from None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.flush()
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, *, clock: Clock, user: User, ttl: timedelta) -> str:
    """Start a web session for ``user`` and return the token for its cookie."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        WebSession(
            token_hash=_token_hash(token), user_id=user.id, created_at=now, expires_at=now + ttl
        )
    )
    session.flush()
    return token


def resolve_session(session: Session, *, clock: Clock, token: str | None) -> SignedInUser | None:
    """The user behind a session cookie, or None if the session is unknown or expired."""
    if not token:
        return None
    token_hash = _token_hash(token)
    row = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == token_hash)
    ).one_or_none()
    if row is None:
        return None
    web_session, user = row
    if web_session.expires_at <= clock.now():
        return None
    return SignedInUser(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        session_token_hash=token_hash,
        home_country=user.home_country,
        home_country_verified=user.home_country_verified_at is not None,
    )


def verify_home_country(session: Session, *, clock: Clock, user_id: str, country: str) -> None:
    """Record a subscriber's verified member state of residence (EU portability)."""
    user = session.get(User, user_id)
    if user is None:
        raise InvalidAccountData("no such user")
    try:
        user.home_country = normalise_territory(country)
    except UnknownTerritoryCode:
        raise InvalidAccountData(f"{country!r} is not a country code (ISO 3166-1)") from None
    user.home_country_verified_at = clock.now()
    session.flush()


def close_session(session: Session, *, token: str | None) -> None:
    """End a web session; unknown tokens are ignored."""
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))


def purge_expired_sessions(session: Session, *, clock: Clock) -> int:
    """Delete sessions past their expiry; returns how many."""
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)


def csrf_token(*, key: bytes, session_token_hash: str) -> str:
    """The CSRF token of a session: an HMAC, so nothing more needs storing."""
    return hmac.new(key, f"csrf:{session_token_hash}".encode(), hashlib.sha256).hexdigest()


def csrf_token_valid(*, key: bytes, session_token_hash: str, presented: str | None) -> bool:
    """Whether ``presented`` is this session's CSRF token (constant-time comparison)."""
    if not presented:
        return False
    expected = csrf_token(key=key, session_token_hash=session_token_hash)
    return hmac.compare_digest(expected, presented)


def find_user_by_email(session: Session, email: str) -> User | None:
    """The user with this email, if any."""
    return session.scalar(select(User).where(User.email == normalise_email(email)))
