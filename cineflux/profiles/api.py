"""Profiles HTTP API: each account sees and changes only its own profiles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from cineflux.accounts import service as accounts
from cineflux.catalog import service as catalog
from cineflux.delivery.service import playback_urls
from cineflux.media import service as media
from cineflux.profiles import flows
from cineflux.profiles import service as profiles
from cineflux.profiles.models import Profile, ViewingEntry
from cineflux.profiles.selection import PROFILE_COOKIE, profile_cookie
from cineflux.web.deps import (
    ApiUserDep,
    DbDep,
    PlatformDep,
    ProfileDep,
    ViewerDep,
    first_profile,
)
from cineflux.web.problems import Problem

router = APIRouter(prefix="/api", tags=["profiles"])


class ProfileRead(BaseModel):
    """A profile as its account sees it (never its PIN)."""

    id: str
    name: str
    avatar: str
    language: str
    kids: bool
    max_rating: str
    has_pin: bool


class ProfileWrite(BaseModel):
    """A profile to create or the new state of one."""

    name: Annotated[str, Field(max_length=40)]
    avatar: str = "blue"
    language: str = "fr"
    kids: bool = False
    max_rating: Annotated[str, Field(description="Arcom: TP, 10, 12, 16 or 18")] = "16"
    adult_code: Annotated[str | None, Field(description="needed for an 18 limit")] = None


class SelectedProfile(ProfileRead):
    """The chosen profile, and the value device apps send back in ``X-Cineflux-Profile``."""

    selection: str


class PinWrite(BaseModel):
    """A 4-digit PIN, or null to remove it."""

    pin: str | None


class SelectProfile(BaseModel):
    """The PIN of the profile to use, when it has one."""

    pin: str | None = None


class AdultCodeWrite(BaseModel):
    """The account's -18 code, confirmed by its password."""

    password: Annotated[str, Field(max_length=1024)]
    code: str


class ProgressWrite(BaseModel):
    """Where the player is in a title."""

    position_seconds: Annotated[float, Field(ge=0)]
    duration_seconds: Annotated[float | None, Field(gt=0)] = None


class HistoryEntryRead(BaseModel):
    """A title in a profile's history."""

    title_id: str
    position_seconds: float
    duration_seconds: float | None
    completed: bool
    updated_at: datetime


class ResumeItemRead(BaseModel):
    """A film or an episode to go on with (play it: the play resumes at the position)."""

    title_id: Annotated[str, Field(description="what plays: the film or the episode")]
    name: Annotated[str, Field(description="the film's or the series' name")]
    kind: str
    age_rating: str
    series_id: str | None
    episode_name: str | None
    season: int | None
    number: int | None
    position_seconds: float
    duration_seconds: float | None
    progress: Annotated[float, Field(ge=0, le=1)]
    up_next: Annotated[bool, Field(description="the episode after one the profile finished")]
    watched_at: datetime
    poster: str | None


def _read(profile: Profile) -> ProfileRead:
    return ProfileRead(
        id=profile.id,
        name=profile.name,
        avatar=profile.avatar,
        language=profile.language,
        kids=profile.kids,
        max_rating=profile.max_rating,
        has_pin=profile.pin_hash is not None,
    )


def _entry(entry: ViewingEntry) -> HistoryEntryRead:
    return HistoryEntryRead(
        title_id=entry.title_id,
        position_seconds=entry.position_seconds,
        duration_seconds=entry.duration_seconds,
        completed=entry.completed,
        updated_at=entry.updated_at,
    )


def _spec(body: ProfileWrite) -> profiles.ProfileSpec:
    return profiles.ProfileSpec(body.name, body.avatar, body.language, body.kids, body.max_rating)


@router.get("/profiles", response_model=list[ProfileRead])
def list_profiles(db: DbDep, platform: PlatformDep, user: ApiUserDep) -> list[ProfileRead]:
    """The account's profiles (a new account gets its first one, named after it)."""
    owned = profiles.list_profiles(db, user_id=user.id) or [
        first_profile(platform, db, user_id=user.id, name=user.display_name)
    ]
    return [_read(p) for p in owned]


@router.post("/profiles", response_model=ProfileRead, status_code=201)
def create_profile(
    body: ProfileWrite, db: DbDep, platform: PlatformDep, user: ApiUserDep
) -> ProfileRead:
    """Add a profile (five at most)."""
    profile = profiles.create_profile(
        db, clock=platform.clock, user_id=user.id, spec=_spec(body), adult_code=body.adult_code
    )
    return _read(profile)


@router.patch("/profiles/{profile_id}", response_model=ProfileRead)
def update_profile(profile_id: str, body: ProfileWrite, db: DbDep, user: ApiUserDep) -> ProfileRead:
    """Change a profile."""
    profile = profiles.update_profile(
        db, user_id=user.id, profile_id=profile_id, spec=_spec(body), adult_code=body.adult_code
    )
    return _read(profile)


@router.delete("/profiles/{profile_id}", status_code=204)
def delete_profile(profile_id: str, db: DbDep, user: ApiUserDep) -> Response:
    """Remove a profile and its history."""
    profiles.delete_profile(db, user_id=user.id, profile_id=profile_id)
    return Response(status_code=204)


@router.put("/profiles/{profile_id}/pin", status_code=204)
def set_pin(profile_id: str, body: PinWrite, db: DbDep, user: ApiUserDep) -> Response:
    """Set or remove a profile's PIN."""
    profiles.set_pin(db, user_id=user.id, profile_id=profile_id, pin=body.pin)
    return Response(status_code=204)


@router.post("/profiles/{profile_id}/select", response_model=SelectedProfile)
def select_profile(
    profile_id: str,
    body: SelectProfile,
    response: Response,
    db: DbDep,
    platform: PlatformDep,
    user: ApiUserDep,
) -> SelectedProfile:
    """Use a profile in this session (its PIN first, when it has one)."""
    profile = profiles.get_profile(db, user_id=user.id, profile_id=profile_id)
    profiles.check_pin(profile, body.pin)
    selection = profile_cookie(
        platform.signing_key, session_token_hash=user.session_token_hash, profile_id=profile.id
    )
    response.set_cookie(
        PROFILE_COOKIE,
        selection,
        httponly=True,
        samesite="lax",
        secure=platform.settings.secure_cookies,
        path="/",
    )
    return SelectedProfile(**_read(profile).model_dump(), selection=selection)


@router.get("/profiles/{profile_id}/history", response_model=list[HistoryEntryRead])
def history(profile_id: str, db: DbDep, user: ApiUserDep) -> list[HistoryEntryRead]:
    """The profile's titles, most recently watched first."""
    return [_entry(e) for e in profiles.history(db, user_id=user.id, profile_id=profile_id)]


@router.put("/profiles/{profile_id}/history/{title_id}", response_model=HistoryEntryRead)
def record_progress(
    profile_id: str,
    title_id: str,
    body: ProgressWrite,
    db: DbDep,
    platform: PlatformDep,
    user: ApiUserDep,
) -> HistoryEntryRead:
    """Remember where the profile is in a title (the player calls this as it plays)."""
    title = catalog.get_title(db, title_id)
    entry = profiles.record_progress(
        db,
        clock=platform.clock,
        user_id=user.id,
        profile_id=profile_id,
        title_id=title_id,
        position_seconds=body.position_seconds,
        duration_seconds=body.duration_seconds,
        credits_start_seconds=title.credits_start_seconds,
    )
    return _entry(entry)


@router.delete("/profiles/{profile_id}/history/{title_id}", status_code=204)
def forget(profile_id: str, title_id: str, db: DbDep, user: ApiUserDep) -> Response:
    """Remove a title from the profile's history."""
    profiles.forget_title(db, user_id=user.id, profile_id=profile_id, title_id=title_id)
    return Response(status_code=204)


@router.put("/account/adult-code", status_code=204)
def set_adult_code(
    body: AdultCodeWrite, db: DbDep, platform: PlatformDep, user: ApiUserDep
) -> Response:
    """Set the account's -18 code; the password proves it is the account holder."""
    try:
        accounts.authenticate(db, email=user.email, password=body.password)
    except accounts.InvalidCredentials:
        raise Problem(403, "Wrong password", "the account's password is needed") from None
    profiles.set_adult_code(db, clock=platform.clock, user_id=user.id, code=body.code)
    return Response(status_code=204)


@router.get("/continue-watching", response_model=list[ResumeItemRead])
def continue_watching(
    db: DbDep, user: ApiUserDep, profile: ProfileDep, viewer: ViewerDep
) -> list[ResumeItemRead]:
    """The selected profile's "Continue watching": films and episodes in progress, and the
    next episode of series whose last watched episode was finished, most recent first."""
    assert profile is not None  # an API user without a chosen profile got 409
    cards = flows.continue_watching(db, viewer, user_id=user.id, profile_id=profile.id)
    packages = media.packages_by_title(db, [c.title_id for c in cards])
    return [
        ResumeItemRead(
            title_id=c.title_id,
            name=c.name,
            kind=c.kind,
            age_rating=c.age_rating,
            series_id=c.series_id,
            episode_name=c.episode_name,
            season=c.season,
            number=c.number,
            position_seconds=c.position_seconds,
            duration_seconds=c.duration_seconds,
            progress=c.progress,
            up_next=c.up_next,
            watched_at=c.watched_at,
            poster=playback_urls(packages[c.title_id]).poster if c.title_id in packages else None,
        )
        for c in cards
    ]


@router.delete("/continue-watching/{title_id}", status_code=204)
def remove_from_continue_watching(
    title_id: str, db: DbDep, user: ApiUserDep, profile: ProfileDep
) -> Response:
    """Take a film, or an episode's whole series, out of the selected profile's row."""
    assert profile is not None
    flows.remove_from_continue_watching(
        db, user_id=user.id, profile_id=profile.id, title_id=title_id
    )
    return Response(status_code=204)
