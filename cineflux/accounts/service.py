"""Accounts: users, passwords, sign-in limits, web sessions, mailed single-use tokens.

Services flush and never commit: the caller owns the transaction.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from cineflux.accounts.models import AccountToken, DeviceSession, LoginFailure, User, WebSession
from cineflux.accounts.tokens import (
    hash_token,
    locked_until,
    new_secret_token,
    retry_after_seconds,
)
from cineflux.clock import Clock
from cineflux.prepared import Prepared
from cineflux.rights.territory import UnknownTerritoryCode, normalise_territory

ROLES = ("subscriber", "operator")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes anything, but nobody needs more; bounds the work
VERIFY_EMAIL_TTL = timedelta(hours=48)
PASSWORD_RESET_TTL = timedelta(hours=1)
# Sign-in rate limits: failures in a sliding window, per account (whether it exists or not)
# and per client address. Locked attempts are not checked and not counted.
ACCOUNT_FAILURE_LIMIT = 5
ADDRESS_FAILURE_LIMIT = 20
FAILURE_WINDOW = timedelta(minutes=15)
VERIFY_EMAIL = "verify_email"
PASSWORD_RESET = "password_reset"  # noqa: S105 (a purpose, not a secret)
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


class InvalidToken(AccountError):
    """A mailed link's token that is unknown, already used or expired."""


class EmailNotVerified(AccountError):
    """The account's email is not verified yet, and this action needs it to be."""


class SignInLocked(AccountError):
    """Too many failed sign-ins for this account or from this address; retry later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


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
    email_verified: bool = False


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def check_password(password: str, *, email: str) -> None:
    """Raise ``InvalidAccountData`` unless the password meets the policy."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccountData(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidAccountData(f"the password may have at most {MAX_PASSWORD_LENGTH} characters")
    if normalise_email(password) == normalise_email(email):
        raise InvalidAccountData("the password must not be the email address")


def create_user(
    session: Session,
    *,
    clock: Clock,
    email: str,
    password: str,
    display_name: str | None = None,
    role: str = "subscriber",
    email_verified: bool = True,
) -> User:
    """Register a user; raise ``EmailTaken`` or ``InvalidAccountData``.

    Accounts made here (operators, the CLI, the demo) count as verified unless told
    otherwise; self-service sign-up (``flows.sign_up``) passes ``email_verified=False``.
    """
    email = normalise_email(email)
    if not _EMAIL.match(email):
        raise InvalidAccountData(f"not an email address: {email!r}")
    check_password(password, email=email)
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
        email_verified_at=clock.now() if email_verified else None,
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


def _failure_keys(email: str, address: str | None) -> list[tuple[str, int]]:
    """The rate-limit keys of a sign-in attempt, each with its limit."""
    keys = [(hash_token(f"account:{normalise_email(email)}"), ACCOUNT_FAILURE_LIMIT)]
    if address:
        keys.append((hash_token(f"address:{address}"), ADDRESS_FAILURE_LIMIT))
    return keys


def _sign_in_locked_until(
    session: Session, *, now: datetime, keys: list[tuple[str, int]]
) -> datetime | None:
    until: datetime | None = None
    for key_hash, limit in keys:
        recent = session.scalars(
            select(LoginFailure.created_at)
            .where(
                LoginFailure.key_hash == key_hash, LoginFailure.created_at > now - FAILURE_WINDOW
            )
            .order_by(LoginFailure.created_at.desc())
            .limit(limit)
        ).all()
        locked = locked_until(recent, limit=limit, window=FAILURE_WINDOW, now=now)
        if locked is not None and (until is None or locked > until):
            until = locked
    return until


def sign_in(
    session: Session, *, clock: Clock, email: str, password: str, address: str | None
) -> User:
    """``authenticate`` under the rate limits; raise ``SignInLocked`` or ``InvalidCredentials``.

    Failures are flushed before raising: the caller commits them with its response.
    """
    now = clock.now()
    keys = _failure_keys(email, address)
    until = _sign_in_locked_until(session, now=now, keys=keys)
    if until is not None:
        raise SignInLocked(retry_after_seconds(until, now))
    try:
        user = authenticate(session, email=email, password=password)
    except InvalidCredentials:
        session.execute(delete(LoginFailure).where(LoginFailure.created_at <= now - FAILURE_WINDOW))
        session.add_all(LoginFailure(key_hash=key_hash, created_at=now) for key_hash, _ in keys)
        session.flush()
        raise
    _forget_account_failures(session, user.email)
    return user


def _forget_account_failures(session: Session, email: str) -> None:
    account_key = hash_token(f"account:{normalise_email(email)}")
    session.execute(delete(LoginFailure).where(LoginFailure.key_hash == account_key))


def open_session(session: Session, *, clock: Clock, user: User, ttl: timedelta) -> str:
    """Start a web session for ``user`` and return the token for its cookie."""
    token = new_secret_token()
    now = clock.now()
    session.add(
        WebSession(
            token_hash=hash_token(token), user_id=user.id, created_at=now, expires_at=now + ttl
        )
    )
    session.flush()
    return token


# Every signed-in request runs it: built once, as building it cost more than running it;
# plain columns, prepared (``cineflux.prepared``), as loading two entities cost more than
# the query.
_SESSION_AND_USER = Prepared(
    select(
        WebSession.expires_at,
        User.id,
        User.email,
        User.display_name,
        User.role,
        User.home_country,
        User.home_country_verified_at,
        User.email_verified_at,
    )
    .join(User, User.id == WebSession.user_id)
    .where(WebSession.token_hash == bindparam("token_hash"))
)


class UserColumns(Protocol):
    """What ``as_signed_in`` reads of a user: the entity, or a row of its columns."""

    @property
    def id(self) -> str: ...
    @property
    def email(self) -> str: ...
    @property
    def display_name(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def home_country(self) -> str | None: ...
    @property
    def home_country_verified_at(self) -> datetime | None: ...
    @property
    def email_verified_at(self) -> datetime | None: ...


def lock_user(session: Session, *, user_id: str) -> None:
    """Serialise changes to this account until the transaction ends: its row's lock on
    PostgreSQL; on SQLite a writing transaction holds the database's lock already."""
    session.execute(select(User.id).where(User.id == user_id).with_for_update())


def resolve_session(session: Session, *, clock: Clock, token: str | None) -> SignedInUser | None:
    """The user behind a session cookie, or None if the session is unknown or expired."""
    if not token:
        return None
    token_hash = hash_token(token)
    row = _SESSION_AND_USER.first(session, {"token_hash": token_hash})
    if row is None or row.expires_at <= clock.now():
        return None
    return as_signed_in(row, session_token_hash=token_hash)


def as_signed_in(user: UserColumns, *, session_token_hash: str) -> SignedInUser:
    """What the web layer knows of a user signed in under the session with this hash
    (``user``: the entity, or a row of its columns under their own names)."""
    return SignedInUser(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        session_token_hash=session_token_hash,
        home_country=user.home_country,
        home_country_verified=user.home_country_verified_at is not None,
        email_verified=user.email_verified_at is not None,
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
        session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))


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


def issue_account_token(
    session: Session, *, clock: Clock, user_id: str, purpose: str, ttl: timedelta
) -> str:
    """A single-use token for a mailed link; only its hash is stored."""
    token = new_secret_token()
    now = clock.now()
    session.add(
        AccountToken(
            token_hash=hash_token(token),
            user_id=user_id,
            purpose=purpose,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    session.flush()
    return token


def recent_token_count(
    session: Session, *, clock: Clock, user_id: str, purpose: str, within: timedelta
) -> int:
    """How many tokens of this purpose were issued to the user lately (mail flood guard)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(AccountToken)
            .where(
                AccountToken.user_id == user_id,
                AccountToken.purpose == purpose,
                AccountToken.created_at > clock.now() - within,
            )
        )
        or 0
    )


def _consume_token(session: Session, *, clock: Clock, token: str, purpose: str) -> User:
    """Use a mailed token once; raise ``InvalidToken`` if unknown, used or expired."""
    now = clock.now()
    token_hash = hash_token(token)
    # One conditional UPDATE: of two concurrent uses, exactly one wins.
    result = session.execute(
        update(AccountToken)
        .where(
            AccountToken.token_hash == token_hash,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise InvalidToken("this link is invalid, already used or expired")
    user_id = session.scalar(
        select(AccountToken.user_id).where(AccountToken.token_hash == token_hash)
    )
    user = session.get(User, user_id)
    if user is None:
        raise InvalidToken("this link is invalid, already used or expired")
    return user


def verify_email(session: Session, *, clock: Clock, token: str) -> User:
    """Mark the email of the token's owner verified; raise ``InvalidToken``."""
    user = _consume_token(session, clock=clock, token=token, purpose=VERIFY_EMAIL)
    if user.email_verified_at is None:
        user.email_verified_at = clock.now()
    session.flush()
    return user


def reset_password(session: Session, *, clock: Clock, token: str, new_password: str) -> User:
    """Set a new password from a reset link; every session and device of the user ends.

    The password is checked before the token is used, so a refused password keeps the link
    usable. Following the link proves the mailbox, so the email counts as verified too.
    """
    token_hash = hash_token(token)
    owner = session.scalar(
        select(User)
        .join(AccountToken, AccountToken.user_id == User.id)
        .where(AccountToken.token_hash == token_hash)
    )
    if owner is not None:
        check_password(new_password, email=owner.email)
    user = _consume_token(session, clock=clock, token=token, purpose=PASSWORD_RESET)
    now = clock.now()
    user.password_hash = hash_password(new_password)
    if user.email_verified_at is None:
        user.email_verified_at = now
    session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == PASSWORD_RESET,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    for device in session.scalars(
        select(DeviceSession).where(
            DeviceSession.user_id == user.id, DeviceSession.revoked_at.is_(None)
        )
    ):
        device.revoked_at = now
        device.revoked_reason = "password reset"
    _forget_account_failures(session, user.email)
    session.flush()
    return user


def require_verified_email(session: Session, *, user_id: str) -> None:
    """Raise ``EmailNotVerified`` unless the user's email is verified (e.g. to subscribe)."""
    verified = session.scalar(select(User.email_verified_at).where(User.id == user_id))
    if verified is None:
        raise EmailNotVerified("verify your email address first: follow the link we mailed you")
