"""Profiles on the real database: limits, PINs, the -18 code, history, isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from cineflux.accounts import service as accounts
from cineflux.catalog import service as catalog
from cineflux.clock import FrozenClock
from cineflux.profiles import service as profiles
from cineflux.profiles.selection import profile_cookie, selected_profile_id
from tests.factories import make_title


def user(db: Session, clock: FrozenClock, email: str = "ana@example.org") -> str:
    return accounts.create_user(db, clock=clock, email=email, password="a long password").id


def spec(name: str, **kwargs: object) -> profiles.ProfileSpec:
    return profiles.ProfileSpec(name, **kwargs)  # type: ignore[arg-type]


def test_an_account_has_at_most_five_profiles_and_keeps_one(
    db: Session, clock: FrozenClock
) -> None:
    owner = user(db, clock)
    made = [
        profiles.create_profile(db, clock=clock, user_id=owner, spec=spec(f"P{i}"))
        for i in range(5)
    ]
    with pytest.raises(profiles.TooManyProfiles):
        profiles.create_profile(db, clock=clock, user_id=owner, spec=spec("Sixth"))
    for profile in made[1:]:
        profiles.delete_profile(db, user_id=owner, profile_id=profile.id)
    with pytest.raises(profiles.InvalidProfile, match="at least one"):
        profiles.delete_profile(db, user_id=owner, profile_id=made[0].id)


def test_a_kids_profile_sees_only_tous_publics(db: Session, clock: FrozenClock) -> None:
    owner = user(db, clock)
    kid = profiles.create_profile(
        db, clock=clock, user_id=owner, spec=spec("Léo", kids=True, max_rating="16")
    )
    assert kid.max_rating == "TP"
    assert catalog.minimum_age(kid.max_rating) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "name"),
        ("avatar", "pirate", "avatar"),
        ("language", "de", "language"),
        ("max_rating", "21", "rating"),
    ],
)
def test_invalid_profiles_are_refused(
    db: Session, clock: FrozenClock, field: str, value: str, message: str
) -> None:
    owner = user(db, clock)
    with pytest.raises(profiles.InvalidProfile, match=message):
        profiles.create_profile(
            db, clock=clock, user_id=owner, spec=spec(**{"name": "Ok", field: value})
        )


def test_an_18_limit_needs_the_accounts_personal_code(db: Session, clock: FrozenClock) -> None:
    owner = user(db, clock)
    with pytest.raises(profiles.AdultCodeRequired, match="first"):
        profiles.create_profile(db, clock=clock, user_id=owner, spec=spec("A", max_rating="18"))
    profiles.set_adult_code(db, clock=clock, user_id=owner, code="2468")
    with pytest.raises(profiles.AdultCodeRequired):
        profiles.create_profile(db, clock=clock, user_id=owner, spec=spec("A", max_rating="18"))
    with pytest.raises(profiles.WrongPin):
        profiles.create_profile(
            db, clock=clock, user_id=owner, spec=spec("A", max_rating="18"), adult_code="1111"
        )
    adult = profiles.create_profile(
        db, clock=clock, user_id=owner, spec=spec("A", max_rating="18"), adult_code="2468"
    )
    assert adult.max_rating == "18"
    teen = profiles.create_profile(db, clock=clock, user_id=owner, spec=spec("T"))
    with pytest.raises(profiles.AdultCodeRequired):
        profiles.update_profile(
            db, user_id=owner, profile_id=teen.id, spec=spec("T", max_rating="18")
        )
    with pytest.raises(profiles.InvalidProfile, match="4 to 8 digits"):
        profiles.set_adult_code(db, clock=clock, user_id=owner, code="12")


def test_profile_pins_are_four_digits_and_checked(db: Session, clock: FrozenClock) -> None:
    owner = user(db, clock)
    profile = profiles.create_profile(db, clock=clock, user_id=owner, spec=spec("P"))
    profiles.check_pin(profile, None)  # no PIN yet: nothing to check
    with pytest.raises(profiles.InvalidProfile):
        profiles.set_pin(db, user_id=owner, profile_id=profile.id, pin="12345")
    profiles.set_pin(db, user_id=owner, profile_id=profile.id, pin="0429")
    assert profile.pin_hash is not None and "0429" not in profile.pin_hash
    profiles.check_pin(profile, "0429")
    for wrong in (None, "", "0428", "0429 "):
        with pytest.raises(profiles.WrongPin):
            profiles.check_pin(profile, wrong)
    profiles.set_pin(db, user_id=owner, profile_id=profile.id, pin=None)
    profiles.check_pin(profile, None)


def test_one_account_cannot_reach_anothers_profiles(db: Session, clock: FrozenClock) -> None:
    ana = user(db, clock)
    bob = user(db, clock, "bob@example.org")
    hers = profiles.create_profile(db, clock=clock, user_id=ana, spec=spec("Ana"))
    title = make_title(db, clock, "Film")
    for attempt in (
        lambda: profiles.get_profile(db, user_id=bob, profile_id=hers.id),
        lambda: profiles.update_profile(db, user_id=bob, profile_id=hers.id, spec=spec("X")),
        lambda: profiles.delete_profile(db, user_id=bob, profile_id=hers.id),
        lambda: profiles.set_pin(db, user_id=bob, profile_id=hers.id, pin="1234"),
        lambda: profiles.history(db, user_id=bob, profile_id=hers.id),
        lambda: profiles.playing_profile(db, user_id=bob, profile_id=hers.id, title_id=title.id),
        lambda: profiles.record_progress(
            db,
            clock=clock,
            user_id=bob,
            profile_id=hers.id,
            title_id=title.id,
            position_seconds=1,
            duration_seconds=10,
        ),
    ):
        with pytest.raises(profiles.ProfileNotFound):
            attempt()
    assert profiles.list_profiles(db, user_id=bob) == []


def test_viewing_history_is_per_profile_most_recent_first(db: Session, clock: FrozenClock) -> None:
    owner = user(db, clock)
    one = profiles.create_profile(db, clock=clock, user_id=owner, spec=spec("One"))
    two = profiles.create_profile(db, clock=clock, user_id=owner, spec=spec("Two"))
    first, second = make_title(db, clock, "Premier"), make_title(db, clock, "Second")

    def watch(profile_id: str, title_id: str, position: float) -> None:
        profiles.record_progress(
            db, clock=clock, user_id=owner, profile_id=profile_id, title_id=title_id,
            position_seconds=position, duration_seconds=100.0,
        )  # fmt: skip

    watch(one.id, first.id, 30)
    clock.advance(timedelta(minutes=5))
    watch(one.id, second.id, 96)
    clock.advance(timedelta(minutes=5))
    watch(one.id, first.id, 50)
    entries = profiles.history(db, user_id=owner, profile_id=one.id)
    assert [(e.title_id, e.position_seconds, e.completed) for e in entries] == [
        (first.id, 50, False),
        (second.id, 96, True),
    ]
    assert profiles.history(db, user_id=owner, profile_id=two.id) == []
    profiles.forget_title(db, user_id=owner, profile_id=one.id, title_id=first.id)
    assert [e.title_id for e in profiles.history(db, user_id=owner, profile_id=one.id)] == [
        second.id
    ]


def test_a_play_resumes_where_the_profile_stopped_unless_it_finished_or_glanced(
    db: Session, clock: FrozenClock
) -> None:
    owner = user(db, clock)
    one = profiles.create_profile(db, clock=clock, user_id=owner, spec=spec("One"))
    two = profiles.create_profile(db, clock=clock, user_id=owner, spec=spec("Two"))
    profiles.set_pin(db, user_id=owner, profile_id=two.id, pin="0429")
    stopped, finished, unseen, glanced = (make_title(db, clock, n) for n in ("A", "B", "C", "D"))
    for title, position in ((stopped, 42.5), (finished, 97.0), (glanced, 1.5)):
        profiles.record_progress(
            db, clock=clock, user_id=owner, profile_id=one.id, title_id=title.id,
            position_seconds=position, duration_seconds=100.0,
        )  # fmt: skip

    def resume(profile_id: str, title_id: str) -> float:
        playing = profiles.playing_profile(
            db, user_id=owner, profile_id=profile_id, title_id=title_id
        )
        return playing.resume_from

    assert resume(one.id, stopped.id) == 42.5
    assert resume(one.id, finished.id) == 0.0  # watched to the end: from the start again
    assert resume(one.id, unseen.id) == 0.0
    # Under 2 % of the running time: not in "Continue watching", and played from the start.
    assert resume(one.id, glanced.id) == 0.0
    assert resume(two.id, stopped.id) == 0.0  # the history is the profile's own
    playing = profiles.playing_profile(db, user_id=owner, profile_id=two.id, title_id=unseen.id)
    assert (playing.id, playing.language, playing.max_rating) == (two.id, "fr", two.max_rating)
    with pytest.raises(profiles.WrongPin):
        profiles.check_pin(playing, "1234")
    profiles.check_pin(playing, "0429")


def test_the_selection_cookie_is_bound_to_the_session() -> None:
    key = b"k" * 32
    cookie = profile_cookie(key, session_token_hash="session-a", profile_id="p1")
    assert selected_profile_id(key, session_token_hash="session-a", cookie=cookie) == "p1"
    assert selected_profile_id(key, session_token_hash="session-b", cookie=cookie) is None
    forged = "p2." + cookie.split(".", 1)[1]
    assert selected_profile_id(key, session_token_hash="session-a", cookie=forged) is None
    for junk in (None, "", "p1", "p1.", ".abc"):
        assert selected_profile_id(key, session_token_hash="session-a", cookie=junk) is None
