"""Profile pages: the picker ("Qui regarde ?") and profile management."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from cineflux.profiles import service as profiles
from cineflux.profiles.selection import PROFILE_COOKIE, profile_cookie
from cineflux.web.deps import (
    DbDep,
    PageUserDep,
    PlatformDep,
    check_csrf,
    csrf_for,
    first_profile,
    safe_next_path,
)
from cineflux.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/profiles")
def picker(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    next: str | None = None,
    error: str | None = None,
) -> Response:
    """Who is watching? One card per profile."""
    owned = profiles.list_profiles(db, user_id=user.id) or [
        first_profile(platform, db, user_id=user.id, name=user.display_name)
    ]
    return render(
        request,
        "profiles.html",
        {
            "user": user,
            "csrf": csrf_for(platform, user),
            "profiles": owned,
            "next": safe_next_path(next),
            "error": error,
            "can_add": len(owned) < profiles.MAX_PROFILES,
        },
    )


@router.post("/profiles/{profile_id}/select")
def select(
    profile_id: str,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    csrf: Annotated[str, Form(max_length=128)],
    pin: Annotated[str | None, Form(max_length=8)] = None,
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    """Use a profile in this browser, after its PIN when it has one."""
    check_csrf(platform, user, csrf)
    profile = profiles.get_profile(db, user_id=user.id, profile_id=profile_id)
    try:
        profiles.check_pin(profile, pin)
    except profiles.WrongPin:
        return RedirectResponse(f"/profiles?error=pin&next={safe_next_path(next)}", 303)
    response = RedirectResponse(safe_next_path(next), status_code=303)
    response.set_cookie(
        PROFILE_COOKIE,
        profile_cookie(
            platform.signing_key, session_token_hash=user.session_token_hash, profile_id=profile.id
        ),
        httponly=True,
        samesite="lax",
        secure=platform.settings.secure_cookies,
        path="/",
    )
    return response


def _form_page(
    request: Request, platform: PlatformDep, user: PageUserDep, **context: object
) -> Response:
    return render(
        request,
        "profile_form.html",
        {
            "user": user,
            "csrf": csrf_for(platform, user),
            "ratings": profiles.RATINGS,
            "avatars": profiles.AVATARS,
            "languages": profiles.LANGUAGES,
            **context,
        },
        status_code=422 if context.get("error") else 200,
    )


@router.get("/profiles/new")
def new_form(request: Request, platform: PlatformDep, user: PageUserDep) -> Response:
    """The form for a new profile."""
    return _form_page(request, platform, user, profile=None, error=None)


@router.get("/profiles/{profile_id}/edit")
def edit_form(
    request: Request, profile_id: str, db: DbDep, platform: PlatformDep, user: PageUserDep
) -> Response:
    """The form to change a profile."""
    profile = profiles.get_profile(db, user_id=user.id, profile_id=profile_id)
    return _form_page(request, platform, user, profile=profile, error=None)


@router.post("/profiles/save")
def save(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    csrf: Annotated[str, Form(max_length=128)],
    name: Annotated[str, Form(max_length=80)],
    avatar: Annotated[str, Form(max_length=40)] = "blue",
    language: Annotated[str, Form(max_length=8)] = "fr",
    max_rating: Annotated[str, Form(max_length=4)] = "16",
    kids: Annotated[bool, Form()] = False,
    pin: Annotated[str, Form(max_length=8)] = "",
    remove_pin: Annotated[bool, Form()] = False,
    adult_code: Annotated[str, Form(max_length=8)] = "",
    profile_id: Annotated[str, Form(max_length=36)] = "",
) -> Response:
    """Create or change a profile, then go back to the picker."""
    check_csrf(platform, user, csrf)
    spec = profiles.ProfileSpec(name, avatar, language, kids, max_rating)
    code = adult_code or None
    try:
        with db.begin_nested():
            if profile_id:
                profile = profiles.update_profile(
                    db, user_id=user.id, profile_id=profile_id, spec=spec, adult_code=code
                )
            else:
                profile = profiles.create_profile(
                    db, clock=platform.clock, user_id=user.id, spec=spec, adult_code=code
                )
            if remove_pin:
                profiles.set_pin(db, user_id=user.id, profile_id=profile.id, pin=None)
            elif pin:
                profiles.set_pin(db, user_id=user.id, profile_id=profile.id, pin=pin)
    except (profiles.InvalidProfile, profiles.TooManyProfiles, profiles.AdultCodeRequired,
            profiles.WrongPin) as error:  # fmt: skip
        existing = (
            profiles.get_profile(db, user_id=user.id, profile_id=profile_id) if profile_id else None
        )
        return _form_page(request, platform, user, profile=existing, error=str(error))
    return RedirectResponse("/profiles", status_code=303)


@router.post("/profiles/{profile_id}/delete")
def delete(
    profile_id: str,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    csrf: Annotated[str, Form(max_length=128)],
) -> Response:
    """Remove a profile and its history."""
    check_csrf(platform, user, csrf)
    profiles.delete_profile(db, user_id=user.id, profile_id=profile_id)
    return RedirectResponse("/profiles", status_code=303)
