"""Sign-up, email verification, password reset and sign-in limits on the real database."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cineflux.accounts import devices, flows
from cineflux.accounts import service as accounts
from cineflux.accounts.models import AccountToken, DeviceSession, RefreshToken, User
from cineflux.accounts.tokens import hash_token
from cineflux.clock import FrozenClock
from cineflux.mail.models import OutboxMessage

PASSWORD = "correct horse battery"
BASE = "https://cineflux.example"


def _mailed_token(db: Session, path: str) -> str:
    """The token of the newest queued mail's link to ``path``."""
    bodies = db.scalars(select(OutboxMessage.text_body).order_by(OutboxMessage.created_at)).all()
    tokens = [m.group(1) for b in bodies if (m := re.search(rf"{path}\?token=(\S+)", b))]
    assert tokens, "a mail with the link was queued"
    return tokens[-1]


def _outbox(db: Session) -> list[OutboxMessage]:
    return list(db.scalars(select(OutboxMessage)))


def _sign_up(db: Session, clock: FrozenClock, email: str = "ana@example.org") -> User:
    return flows.sign_up(db, clock=clock, base_url=BASE, email=email, password=PASSWORD)


def test_sign_up_makes_an_unverified_account_and_queues_the_link(
    db: Session, clock: FrozenClock
) -> None:
    user = _sign_up(db, clock)
    assert user.email_verified_at is None
    [message] = _outbox(db)
    assert message.to_address == "ana@example.org"
    assert f"{BASE}/verify-email?token=" in message.text_body
    assert message.html_body is not None and "/verify-email?token=" in message.html_body


def test_verification_link_works_once(db: Session, clock: FrozenClock) -> None:
    user = _sign_up(db, clock)
    token = _mailed_token(db, "/verify-email")
    with pytest.raises(accounts.EmailNotVerified):
        accounts.require_verified_email(db, user_id=user.id)
    assert accounts.verify_email(db, clock=clock, token=token).id == user.id
    assert user.email_verified_at == clock.now()
    accounts.require_verified_email(db, user_id=user.id)
    with pytest.raises(accounts.InvalidToken):
        accounts.verify_email(db, clock=clock, token=token)


def test_verification_link_expires_after_48_hours(db: Session, clock: FrozenClock) -> None:
    _sign_up(db, clock)
    token = _mailed_token(db, "/verify-email")
    clock.advance(timedelta(hours=48))
    with pytest.raises(accounts.InvalidToken):
        accounts.verify_email(db, clock=clock, token=token)


def test_tokens_are_stored_hashed_and_serve_one_purpose(db: Session, clock: FrozenClock) -> None:
    _sign_up(db, clock)
    token = _mailed_token(db, "/verify-email")
    stored = db.execute(select(AccountToken.token_hash)).scalars().all()
    assert token not in stored and len(stored) == 1
    with pytest.raises(accounts.InvalidToken):
        accounts.reset_password(db, clock=clock, token=token, new_password="another password!")


def test_operator_made_accounts_are_verified(db: Session, clock: FrozenClock) -> None:
    user = accounts.create_user(db, clock=clock, email="op@example.org", password=PASSWORD)
    accounts.require_verified_email(db, user_id=user.id)
    assert flows.send_verification(db, clock=clock, base_url=BASE, user=user) is False
    assert _outbox(db) == []


def test_reset_for_an_unknown_email_sends_nothing(db: Session, clock: FrozenClock) -> None:
    flows.request_password_reset(db, clock=clock, base_url=BASE, email="nobody@example.org")
    assert _outbox(db) == []


def test_reset_link_works_once_and_ends_every_session_and_device(
    db: Session, clock: FrozenClock
) -> None:
    user = accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    web = accounts.open_session(db, clock=clock, user=user, ttl=timedelta(hours=12))
    device = DeviceSession(user_id=user.id, created_at=clock.now(), last_used_at=clock.now())
    db.add(device)
    flows.request_password_reset(db, clock=clock, base_url=BASE, email="ANA@example.org")
    token = _mailed_token(db, "/reset-password")

    accounts.reset_password(db, clock=clock, token=token, new_password="a brand new password")

    assert accounts.authenticate(db, email="ana@example.org", password="a brand new password")
    with pytest.raises(accounts.InvalidCredentials):
        accounts.authenticate(db, email="ana@example.org", password=PASSWORD)
    assert accounts.resolve_session(db, clock=clock, token=web) is None
    assert device.revoked_at == clock.now() and device.revoked_reason == "password reset"
    with pytest.raises(accounts.InvalidToken):
        accounts.reset_password(db, clock=clock, token=token, new_password="yet another one!")


def test_reset_link_expires_after_an_hour(db: Session, clock: FrozenClock) -> None:
    accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    flows.request_password_reset(db, clock=clock, base_url=BASE, email="ana@example.org")
    token = _mailed_token(db, "/reset-password")
    clock.advance(timedelta(minutes=59))
    clock.advance(timedelta(minutes=1))
    with pytest.raises(accounts.InvalidToken):
        accounts.reset_password(db, clock=clock, token=token, new_password="a brand new password")


def test_a_refused_new_password_keeps_the_link_usable(db: Session, clock: FrozenClock) -> None:
    accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    flows.request_password_reset(db, clock=clock, base_url=BASE, email="ana@example.org")
    token = _mailed_token(db, "/reset-password")
    with pytest.raises(accounts.InvalidAccountData, match="at least 10"):
        accounts.reset_password(db, clock=clock, token=token, new_password="short")
    accounts.reset_password(db, clock=clock, token=token, new_password="long enough now")


def test_one_reset_link_spends_the_others(db: Session, clock: FrozenClock) -> None:
    accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    flows.request_password_reset(db, clock=clock, base_url=BASE, email="ana@example.org")
    first = _mailed_token(db, "/reset-password")
    clock.advance(timedelta(seconds=1))
    flows.request_password_reset(db, clock=clock, base_url=BASE, email="ana@example.org")
    second = _mailed_token(db, "/reset-password")
    accounts.reset_password(db, clock=clock, token=second, new_password="a brand new password")
    with pytest.raises(accounts.InvalidToken):
        accounts.reset_password(db, clock=clock, token=first, new_password="an older link's one")


def test_reset_mails_are_capped_per_hour(db: Session, clock: FrozenClock) -> None:
    accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    for _ in range(5):
        flows.request_password_reset(db, clock=clock, base_url=BASE, email="ana@example.org")
    assert len(_outbox(db)) == flows.RESET_MAILS_PER_HOUR
    clock.advance(timedelta(hours=1))
    flows.request_password_reset(db, clock=clock, base_url=BASE, email="ana@example.org")
    assert len(_outbox(db)) == flows.RESET_MAILS_PER_HOUR + 1


def test_reset_verifies_the_email_it_was_mailed_to(db: Session, clock: FrozenClock) -> None:
    user = _sign_up(db, clock)
    flows.request_password_reset(db, clock=clock, base_url=BASE, email="ana@example.org")
    token = _mailed_token(db, "/reset-password")
    accounts.reset_password(db, clock=clock, token=token, new_password="a brand new password")
    assert user.email_verified_at == clock.now()


def _fail(db: Session, clock: FrozenClock, email: str, address: str = "192.0.2.1") -> None:
    with pytest.raises(accounts.InvalidCredentials):
        accounts.sign_in(db, clock=clock, email=email, password="wrong!", address=address)


def test_five_failures_lock_the_account_for_fifteen_minutes(
    db: Session, clock: FrozenClock
) -> None:
    accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    for _ in range(4):
        _fail(db, clock, "ana@example.org")
        clock.advance(timedelta(minutes=1))
    _fail(db, clock, "ana@example.org")  # the fifth, at minute 4
    with pytest.raises(accounts.SignInLocked) as locked:
        accounts.sign_in(
            db, clock=clock, email="ana@example.org", password=PASSWORD, address="198.51.100.7"
        )
    assert locked.value.retry_after == 11 * 60  # the first failure leaves the window then
    clock.advance(timedelta(minutes=11))
    user = accounts.sign_in(
        db, clock=clock, email="ana@example.org", password=PASSWORD, address="198.51.100.7"
    )
    assert user.email == "ana@example.org"


def test_unknown_emails_lock_exactly_like_known_ones(db: Session, clock: FrozenClock) -> None:
    accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    answers = []
    for email in ("ana@example.org", "nobody@example.org"):
        for _ in range(5):
            _fail(db, clock, email, address=f"addr-{email}")
        with pytest.raises(accounts.SignInLocked) as locked:
            accounts.sign_in(db, clock=clock, email=email, password="x", address=f"addr-{email}")
        answers.append((type(locked.value), locked.value.retry_after))
    assert answers[0] == answers[1]


def test_twenty_failures_lock_an_address_whatever_the_accounts(
    db: Session, clock: FrozenClock
) -> None:
    accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    for n in range(20):
        _fail(db, clock, f"guess{n}@example.org", address="203.0.113.9")
    with pytest.raises(accounts.SignInLocked):
        accounts.sign_in(
            db, clock=clock, email="ana@example.org", password=PASSWORD, address="203.0.113.9"
        )
    user = accounts.sign_in(
        db, clock=clock, email="ana@example.org", password=PASSWORD, address="192.0.2.50"
    )
    assert user.email == "ana@example.org"


def test_locked_attempts_do_not_extend_the_lock(db: Session, clock: FrozenClock) -> None:
    accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    for _ in range(5):
        _fail(db, clock, "ana@example.org")
    for _ in range(10):
        clock.advance(timedelta(minutes=1))
        with pytest.raises(accounts.SignInLocked):
            accounts.sign_in(db, clock=clock, email="ana@example.org", password="x", address="a")
    clock.advance(timedelta(minutes=5))
    assert accounts.sign_in(
        db, clock=clock, email="ana@example.org", password=PASSWORD, address="a"
    )


def test_a_success_forgets_the_account_s_failures(db: Session, clock: FrozenClock) -> None:
    accounts.create_user(db, clock=clock, email="ana@example.org", password=PASSWORD)
    for _ in range(4):
        _fail(db, clock, "ana@example.org")
    accounts.sign_in(db, clock=clock, email="ana@example.org", password=PASSWORD, address="a")
    for _ in range(4):
        _fail(db, clock, "ana@example.org")
    assert accounts.sign_in(
        db, clock=clock, email="ana@example.org", password=PASSWORD, address="a"
    )


def _device_tokens(db: Session, clock: FrozenClock, key: bytes) -> devices.TokenPair:
    user = accounts.create_user(db, clock=clock, email="tv@example.org", password=PASSWORD)
    started = devices.start_device_authorization(db, clock=clock)
    devices.decide_device(
        db, clock=clock, user_id=user.id, user_code=started.user_code, approve=True
    )
    return devices.poll_device_token(
        db, clock=clock, signing_key=key, device_code=started.device_code
    )


KEY = b"s" * 40


def test_refresh_tokens_rotate_and_reuse_revokes_the_family(
    db: Session, clock: FrozenClock
) -> None:
    first = _device_tokens(db, clock, KEY)
    second = devices.refresh_tokens(
        db, clock=clock, signing_key=KEY, refresh_token=first.refresh_token
    )
    assert second.refresh_token != first.refresh_token
    assert second.session_id == first.session_id
    with pytest.raises(devices.GrantError, match="reused"):
        devices.refresh_tokens(db, clock=clock, signing_key=KEY, refresh_token=first.refresh_token)
    with pytest.raises(devices.GrantError, match="signed out"):
        devices.refresh_tokens(db, clock=clock, signing_key=KEY, refresh_token=second.refresh_token)
    resolved = devices.resolve_access_token(
        db, clock=clock, signing_key=KEY, token=second.access_token
    )
    assert resolved is None


def test_refresh_tokens_expire_after_thirty_days(db: Session, clock: FrozenClock) -> None:
    pair = _device_tokens(db, clock, KEY)
    clock.advance(timedelta(days=30))
    with pytest.raises(devices.GrantError, match="expired"):
        devices.refresh_tokens(db, clock=clock, signing_key=KEY, refresh_token=pair.refresh_token)


def test_refresh_tokens_are_stored_hashed(db: Session, clock: FrozenClock) -> None:
    pair = _device_tokens(db, clock, KEY)
    stored = db.scalars(select(RefreshToken.token_hash)).all()
    assert stored == [hash_token(pair.refresh_token)]
