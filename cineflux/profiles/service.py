"""Profiles: up to five per account, maturity limits, PINs, the -18 code, viewing history.

Services flush and never commit. Every function that takes a profile id also takes the
account's user id and answers ``ProfileNotFound`` for a profile of another account, so no
caller can reach another account's profiles by guessing ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from cineflux.accounts import service as accounts
from cineflux.clock import Clock
from cineflux.prepared import Prepared
from cineflux.profiles.models import AdultCode, Profile, ViewingEntry
from cineflux.profiles.watching import is_started, is_watched

MAX_PROFILES = 5
RATINGS = ("TP", "10", "12", "16", "18")
AVATARS = ("blue", "red", "green", "yellow", "purple", "orange")
LANGUAGES = ("fr", "en")
_PIN = re.compile(r"^[0-9]{4}$")
_ADULT_CODE = re.compile(r"^[0-9]{4,8}$")
# PINs are short: argon2id makes each guess cost, and callers rate-limit attempts.
_hasher = PasswordHasher()


class ProfileError(Exception):
    """Base of the profiles domain's errors."""


class ProfileNotFound(ProfileError):
    """No such profile in this account."""


class InvalidProfile(ProfileError):
    """Profile data that cannot be accepted."""


class TooManyProfiles(ProfileError):
    """An account has at most five profiles."""


class WrongPin(ProfileError):
    """The profile's PIN, or the account's -18 code, does not match."""


class AdultCodeRequired(ProfileError):
    """A -18 limit or title needs the account's personal -18 code."""


@dataclass(frozen=True)
class ProfileSpec:
    """What the subscriber sets on a profile."""

    name: str
    avatar: str = "blue"
    language: str = "fr"
    kids: bool = False
    max_rating: str = "16"


def _validated(spec: ProfileSpec) -> ProfileSpec:
    name = " ".join(spec.name.split())
    if not name or len(name) > 40:
        raise InvalidProfile("a profile needs a name of 1 to 40 characters")
    if spec.avatar not in AVATARS:
        raise InvalidProfile(f"unknown avatar {spec.avatar!r} (one of {', '.join(AVATARS)})")
    if spec.language not in LANGUAGES:
        raise InvalidProfile(f"unknown language {spec.language!r} (one of {', '.join(LANGUAGES)})")
    if spec.max_rating not in RATINGS:
        raise InvalidProfile(f"unknown rating {spec.max_rating!r} (Arcom: {', '.join(RATINGS)})")
    # A kids profile shows only "tous publics" titles, whatever was asked.
    rating = "TP" if spec.kids else spec.max_rating
    return ProfileSpec(name, spec.avatar, spec.language, spec.kids, rating)


def list_profiles(session: Session, *, user_id: str) -> list[Profile]:
    """An account's profiles, oldest first."""
    return list(
        session.scalars(
            select(Profile).where(Profile.user_id == user_id).order_by(Profile.created_at)
        )
    )


def get_profile(session: Session, *, user_id: str, profile_id: str) -> Profile:
    """One of the account's profiles, or ``ProfileNotFound`` (also for other accounts')."""
    profile = session.get(Profile, profile_id)
    if profile is None or profile.user_id != user_id:
        raise ProfileNotFound(profile_id)
    return profile


def create_profile(
    session: Session,
    *,
    clock: Clock,
    user_id: str,
    spec: ProfileSpec,
    adult_code: str | None = None,
) -> Profile:
    """Add a profile; a -18 limit needs the account's -18 code."""
    spec = _validated(spec)
    count = session.scalar(select(func.count()).where(Profile.user_id == user_id)) or 0
    if count >= MAX_PROFILES:
        raise TooManyProfiles(f"an account has at most {MAX_PROFILES} profiles")
    if spec.max_rating == "18":
        verify_adult_code(session, user_id=user_id, code=adult_code)
    profile = Profile(
        user_id=user_id,
        name=spec.name,
        avatar=spec.avatar,
        language=spec.language,
        kids=spec.kids,
        max_rating=spec.max_rating,
        created_at=clock.now(),
    )
    session.add(profile)
    session.flush()
    return profile


def update_profile(
    session: Session,
    *,
    user_id: str,
    profile_id: str,
    spec: ProfileSpec,
    adult_code: str | None = None,
) -> Profile:
    """Change a profile; raising its limit to -18 needs the account's -18 code."""
    profile = get_profile(session, user_id=user_id, profile_id=profile_id)
    spec = _validated(spec)
    if spec.max_rating == "18" and profile.max_rating != "18":
        verify_adult_code(session, user_id=user_id, code=adult_code)
    profile.name = spec.name
    profile.avatar = spec.avatar
    profile.language = spec.language
    profile.kids = spec.kids
    profile.max_rating = spec.max_rating
    session.flush()
    return profile


def delete_profile(session: Session, *, user_id: str, profile_id: str) -> None:
    """Remove a profile and its history; an account keeps at least one."""
    profile = get_profile(session, user_id=user_id, profile_id=profile_id)
    if len(list_profiles(session, user_id=user_id)) <= 1:
        raise InvalidProfile("an account keeps at least one profile")
    session.delete(profile)
    session.flush()


def ensure_first_profile(session: Session, *, clock: Clock, user_id: str, name: str) -> Profile:
    """The account's first profile, created from its display name when it has none.

    Call it in a writing transaction (``db.transaction``): it locks the account so that
    two first visits at once make one profile, not two."""
    accounts.lock_user(session, user_id=user_id)
    existing = list_profiles(session, user_id=user_id)
    if existing:
        return existing[0]
    return create_profile(
        session, clock=clock, user_id=user_id, spec=ProfileSpec(name=name[:40] or "Profil")
    )


def set_pin(session: Session, *, user_id: str, profile_id: str, pin: str | None) -> None:
    """Protect a profile with a 4-digit PIN, or remove it with None."""
    profile = get_profile(session, user_id=user_id, profile_id=profile_id)
    if pin is None:
        profile.pin_hash = None
    else:
        if not _PIN.match(pin):
            raise InvalidProfile("a profile PIN is 4 digits")
        profile.pin_hash = _hasher.hash(pin)
    session.flush()


def _matches(stored: str, presented: str) -> bool:
    try:
        return _hasher.verify(stored, presented)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class PinProtected(Protocol):
    """A profile as far as its PIN goes (the entity, or what a play read of it)."""

    @property
    def pin_hash(self) -> str | None: ...


def check_pin(profile: PinProtected, pin: str | None) -> None:
    """Pass when the profile has no PIN or ``pin`` is it; ``WrongPin`` otherwise."""
    if profile.pin_hash is None:
        return
    if not pin or not _matches(profile.pin_hash, pin):
        raise WrongPin("wrong PIN for this profile")


def set_adult_code(session: Session, *, clock: Clock, user_id: str, code: str) -> None:
    """Set the account's personal code for -18 titles (4 to 8 digits)."""
    if not _ADULT_CODE.match(code):
        raise InvalidProfile("the -18 code is 4 to 8 digits")
    row = session.get(AdultCode, user_id)
    if row is None:
        session.add(AdultCode(user_id=user_id, code_hash=_hasher.hash(code), set_at=clock.now()))
    else:
        row.code_hash = _hasher.hash(code)
        row.set_at = clock.now()
    session.flush()


def has_adult_code(session: Session, *, user_id: str) -> bool:
    """Whether the account has set its -18 code."""
    return session.get(AdultCode, user_id) is not None


def verify_adult_code(session: Session, *, user_id: str, code: str | None) -> None:
    """Pass when ``code`` is the account's -18 code; ``AdultCodeRequired`` or ``WrongPin``."""
    row = session.get(AdultCode, user_id)
    if row is None:
        raise AdultCodeRequired("set the account's -18 code first")
    if not code:
        raise AdultCodeRequired("this needs the account's -18 code")
    if not _matches(row.code_hash, code):
        raise WrongPin("wrong -18 code")


def record_progress(
    session: Session,
    *,
    clock: Clock,
    user_id: str,
    profile_id: str,
    title_id: str,
    position_seconds: float,
    duration_seconds: float | None,
    credits_start_seconds: float | None = None,
) -> ViewingEntry:
    """Remember where a profile is in a title (completed past 95% of it or its credits)."""
    get_profile(session, user_id=user_id, profile_id=profile_id)
    if position_seconds < 0 or (duration_seconds is not None and duration_seconds <= 0):
        raise InvalidProfile("positions and durations are positive")
    entry = session.get(ViewingEntry, (profile_id, title_id))
    if entry is None:
        entry = ViewingEntry(profile_id=profile_id, title_id=title_id)
        session.add(entry)
    entry.position_seconds = position_seconds
    entry.duration_seconds = duration_seconds
    entry.completed = is_watched(position_seconds, duration_seconds, credits_start_seconds)
    entry.updated_at = clock.now()
    session.flush()
    return entry


def progress_of(
    session: Session, *, user_id: str, profile_id: str, title_id: str
) -> ViewingEntry | None:
    """Where a profile stopped in a title, if it watched it."""
    get_profile(session, user_id=user_id, profile_id=profile_id)
    return session.get(ViewingEntry, (profile_id, title_id))


@dataclass(frozen=True)
class PlayingProfile:
    """What a play reads of the profile pressing play: its limits and language, and where
    it stopped in the title."""

    id: str
    language: str
    max_rating: str
    pin_hash: str | None
    # Where the next play starts: where it stopped, or 0 if it never played the title,
    # only glanced at it or watched it to the end.
    resume_from: float


# Every play reads it: built once, plain columns in one statement (the profile as an
# entity, then its history row, cost more CPU than the query).
_PLAYING = Prepared(
    select(
        Profile.id,
        Profile.language,
        Profile.max_rating,
        Profile.pin_hash,
        ViewingEntry.position_seconds,
        ViewingEntry.duration_seconds,
        ViewingEntry.completed,
    )
    .outerjoin(
        ViewingEntry,
        (ViewingEntry.profile_id == Profile.id) & (ViewingEntry.title_id == bindparam("title_id")),
    )
    .where(Profile.id == bindparam("profile_id"), Profile.user_id == bindparam("user_id"))
)


def playing_profile(
    session: Session, *, user_id: str, profile_id: str, title_id: str
) -> PlayingProfile:
    """The account's profile about to play a title (``ProfileNotFound`` if not the
    account's), with its resume position in that title."""
    row = _PLAYING.first(
        session, {"user_id": user_id, "profile_id": profile_id, "title_id": title_id}
    )
    if row is None:
        raise ProfileNotFound(profile_id)
    where_it_stopped = row.position_seconds or 0.0
    # As "Continue watching" (``is_started``): a glance starts over, a finished title too.
    resumes = not row.completed and is_started(where_it_stopped, row.duration_seconds)
    return PlayingProfile(
        id=row.id,
        language=row.language,
        max_rating=row.max_rating,
        pin_hash=row.pin_hash,
        resume_from=where_it_stopped if resumes else 0.0,
    )


def history(
    session: Session, *, user_id: str, profile_id: str, limit: int = 50
) -> list[ViewingEntry]:
    """A profile's titles, most recently watched first."""
    get_profile(session, user_id=user_id, profile_id=profile_id)
    return list(
        session.scalars(
            select(ViewingEntry)
            .where(ViewingEntry.profile_id == profile_id)
            .order_by(ViewingEntry.updated_at.desc())
            .limit(limit)
        )
    )


def forget_title(session: Session, *, user_id: str, profile_id: str, title_id: str) -> None:
    """Remove a title from a profile's history."""
    forget_titles(session, user_id=user_id, profile_id=profile_id, title_ids=[title_id])


def forget_titles(session: Session, *, user_id: str, profile_id: str, title_ids: list[str]) -> None:
    """Remove titles (a film, or every episode of a series) from a profile's history."""
    get_profile(session, user_id=user_id, profile_id=profile_id)
    session.execute(
        delete(ViewingEntry).where(
            ViewingEntry.profile_id == profile_id, ViewingEntry.title_id.in_(title_ids)
        )
    )
    session.flush()
