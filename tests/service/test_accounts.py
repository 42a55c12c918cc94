"""Accounts on the real database: hashing, uniqueness, sign-in, session lifetime."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from cineflux.accounts import service as accounts
from cineflux.clock import FrozenClock

PASSWORD = "correct horse battery"


def test_passwords_are_stored_as_argon2id_hashes(db: Session, clock: FrozenClock) -> None:
    user = accounts.create_user(db, clock=clock, email="Ana@Example.org", password=PASSWORD)
    assert user.email == "ana@example.org"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_email_is_unique_whatever_its_case(db: Session, clock: FrozenClock) -> None:
    accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    with pytest.raises(accounts.EmailTaken):
        accounts.create_user(db, clock=clock, email=" ANA@example.org ", password=PASSWORD)


@pytest.mark.parametrize(
    ("email", "password", "role", "message"),
    [
        ("not-an-email", PASSWORD, "subscriber", "not an email"),
        ("a@b.org", "short", "subscriber", "at least"),
        ("a@b.org", PASSWORD, "admin", "role"),
    ],
)
def test_invalid_account_data_is_refused(
    db: Session, clock: FrozenClock, email: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(accounts.InvalidAccountData, match=message):
        accounts.create_user(db, clock=clock, email=email, password=password, role=role)


def test_authenticate_accepts_the_right_password_only(db: Session, clock: FrozenClock) -> None:
    created = accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    assert accounts.authenticate(db, email="ANA@example.org", password=PASSWORD).id == created.id
    with pytest.raises(accounts.InvalidCredentials):
        accounts.authenticate(db, email="ana@example.org", password=PASSWORD + "!")
    with pytest.raises(accounts.InvalidCredentials):
        accounts.authenticate(db, email="nobody@example.org", password=PASSWORD)


def test_session_resolves_until_it_expires(db: Session, clock: FrozenClock) -> None:
    user = accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    token = accounts.open_session(db, clock=clock, user=user, ttl=timedelta(hours=2))
    signed_in = accounts.resolve_session(db, clock=clock, token=token)
    assert signed_in is not None and signed_in.id == user.id
    assert token not in signed_in.session_token_hash  # only a hash is stored
    clock.advance(timedelta(hours=1, minutes=59))
    assert accounts.resolve_session(db, clock=clock, token=token) is not None
    clock.advance(timedelta(minutes=1))
    assert accounts.resolve_session(db, clock=clock, token=token) is None
    assert accounts.purge_expired_sessions(db, clock=clock) == 1


def test_closed_or_unknown_sessions_resolve_to_nobody(db: Session, clock: FrozenClock) -> None:
    user = accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    token = accounts.open_session(db, clock=clock, user=user, ttl=timedelta(hours=2))
    accounts.close_session(db, token=token)
    assert accounts.resolve_session(db, clock=clock, token=token) is None
    assert accounts.resolve_session(db, clock=clock, token="forged") is None
    assert accounts.resolve_session(db, clock=clock, token=None) is None
