"""Pure token logic: access tokens, user codes, lockout windows, device poll answers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from cineflux.accounts import tokens
from cineflux.accounts.devices import poll_outcome

KEY = b"k" * 40
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
TTL = timedelta(minutes=15)


def _token(**overrides: object) -> str:
    args: dict[str, object] = {"user_id": "u1", "session_id": "s1", "now": NOW, "ttl": TTL}
    args.update(overrides)
    return tokens.issue_access_token(KEY, **args)  # type: ignore[arg-type]


def test_access_token_carries_user_and_session_until_it_expires() -> None:
    token = _token()
    claims = tokens.read_access_token(KEY, token, now=NOW + TTL - timedelta(seconds=1))
    assert claims == tokens.AccessClaims("u1", "s1", NOW + TTL)
    assert tokens.read_access_token(KEY, token, now=NOW + TTL) is None


def test_access_token_signed_with_another_key_is_refused() -> None:
    assert tokens.read_access_token(b"other" * 8, _token(), now=NOW) is None


def test_access_token_with_edited_claims_is_refused() -> None:
    prefix, _claims, signature = _token().split(".")
    _, forged_claims, _ = _token(user_id="someone-else").split(".")
    assert tokens.read_access_token(KEY, f"{prefix}.{forged_claims}.{signature}", now=NOW) is None


@pytest.mark.parametrize(
    "garbage",
    ["", "cfx1", "cfx1.a.b", "cfx2.e30.AAAA", "a.b.c.d", "cfx1.!!!.???", "Bearer x"],
)
def test_malformed_access_tokens_are_nobody(garbage: str) -> None:
    assert tokens.read_access_token(KEY, garbage, now=NOW) is None


def test_user_codes_are_eight_consonants_in_two_groups() -> None:
    codes = {tokens.new_user_code() for _ in range(200)}
    assert len(codes) == 200  # 20^8 possibilities: 200 draws never collide in practice
    for code in codes:
        assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", code)


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("BCDF-GHJK", "BCDF-GHJK"),
        ("bcdfghjk", "BCDF-GHJK"),
        (" bcdf ghjk ", "BCDF-GHJK"),
        ("BCDF-GHJ", None),
        ("BCDF-GHJKL", None),
        ("ABCD-EFGH", None),  # vowels are never in a code
        ("BCD0-GHJK", None),
    ],
)
def test_typed_user_codes_are_normalised(typed: str, canonical: str | None) -> None:
    assert tokens.normalise_user_code(typed) == canonical


def _failures(*minutes_ago: int) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in minutes_ago]


def test_lock_needs_the_limit_within_the_window() -> None:
    window = timedelta(minutes=15)
    assert tokens.locked_until(_failures(1, 2, 3, 4), limit=5, window=window, now=NOW) is None
    assert tokens.locked_until(_failures(1, 2, 3, 4, 20), limit=5, window=window, now=NOW) is None
    until = tokens.locked_until(_failures(1, 2, 3, 4, 10), limit=5, window=window, now=NOW)
    assert until == NOW + timedelta(minutes=5)  # when the failure 10 minutes ago leaves


def test_lock_slides_with_the_most_recent_failures() -> None:
    window = timedelta(minutes=15)
    until = tokens.locked_until(_failures(1, 2, 3, 4, 5, 14), limit=5, window=window, now=NOW)
    assert until == NOW + timedelta(minutes=10)


def test_retry_after_rounds_up_to_whole_seconds() -> None:
    assert tokens.retry_after_seconds(NOW + timedelta(seconds=90.2), NOW) == 91
    assert tokens.retry_after_seconds(NOW, NOW) == 1


EXPIRES = NOW + timedelta(minutes=10)


@pytest.mark.parametrize(
    ("status", "now", "last_polled", "outcome"),
    [
        ("pending", NOW, None, "authorization_pending"),
        ("pending", NOW, NOW - timedelta(seconds=5), "authorization_pending"),
        ("pending", NOW, NOW - timedelta(seconds=4), "slow_down"),
        ("approved", NOW, NOW - timedelta(seconds=1), "approved"),
        ("denied", NOW, None, "access_denied"),
        ("pending", EXPIRES, None, "expired_token"),
        ("approved", EXPIRES, None, "expired_token"),
        ("consumed", NOW, None, "invalid_grant"),
    ],
)
def test_device_poll_answers_follow_rfc_8628(
    status: str, now: datetime, last_polled: datetime | None, outcome: str
) -> None:
    answer = poll_outcome(
        status=status, now=now, expires_at=EXPIRES, last_polled_at=last_polled, interval=5
    )
    assert answer == outcome
