"""Server-rendered pages of the subscriber app: home, search, title, player.

Account pages (sign-in, sign-up, password reset, TV activation) are in ``accounts/pages.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from cineflux.catalog import flows as catalog_flows
from cineflux.catalog import service as catalog
from cineflux.catalog.flows import Viewer
from cineflux.catalog.models import Title
from cineflux.delivery import service as delivery
from cineflux.delivery.flows import delivery_config
from cineflux.delivery.service import playback_urls
from cineflux.media import service as media
from cineflux.media.models import MediaPackage
from cineflux.playback.flows import next_episode_for
from cineflux.profiles import flows as profile_flows
from cineflux.profiles import service as profiles
from cineflux.profiles.selection import ADULT_COOKIE, adult_cookie, adult_cookie_valid
from cineflux.rights import service as rights
from cineflux.rights.chronology import Decision
from cineflux.web.csp import content_security_policy
from cineflux.web.deps import (
    DbDep,
    PageUserDep,
    PlatformDep,
    ProfileDep,
    ViewerDep,
    check_csrf,
    csrf_for,
)
from cineflux.web.problems import Problem
from cineflux.web.templating import render

router = APIRouter(include_in_schema=False)


def _posters(db: DbDep, title_ids: list[str]) -> dict[str, str]:
    packages = media.packages_by_title(db, title_ids)
    return {title_id: playback_urls(p).poster for title_id, p in packages.items()}


@router.get("/")
def home(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    viewer: ViewerDep,
    profile: ProfileDep,
) -> Response:
    """The home screen: what the profile was watching, then rows of titles the viewer may
    watch here and now."""
    assert profile is not None  # a signed-in page always has one, or was sent to choose
    resume = profile_flows.continue_watching(db, viewer, user_id=user.id, profile_id=profile.id)
    rows = catalog_flows.home_rows(db, viewer)
    ids = [card.title_id for card in resume] + [card.id for row in rows for card in row.items]
    return render(
        request,
        "home.html",
        {
            "user": user,
            "resume": resume,
            "rows": rows,
            "posters": _posters(db, ids),
            "viewer": viewer,
            "csrf": csrf_for(platform, user),
        },
    )


@router.post("/continue-watching/{title_id}/remove")
def remove_from_continue_watching(
    title_id: str,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    profile: ProfileDep,
    csrf: Annotated[str, Form(max_length=128)],
) -> Response:
    """Take a film, or an episode's whole series, out of the profile's Continue watching."""
    check_csrf(platform, user, csrf)
    assert profile is not None
    profile_flows.remove_from_continue_watching(
        db, user_id=user.id, profile_id=profile.id, title_id=title_id
    )
    return RedirectResponse("/", status_code=303)


@router.get("/search")
def search_page(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    viewer: ViewerDep,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Search among the titles the viewer may watch."""
    results = catalog_flows.search_for_viewer(db, viewer, q) if q.strip() else []
    return render(
        request,
        "search.html",
        {
            "user": user,
            "q": q,
            "results": results,
            "posters": _posters(db, [card.id for card in results]),
            "csrf": csrf_for(platform, user),
        },
    )


def _playable(db: DbDep, title_id: str) -> tuple[Title, MediaPackage]:
    title = catalog.get_title(db, title_id)
    package = media.package_for_title(db, title.id)
    if package is None:
        raise Problem(404, "Not playable", "this title has no published media yet")
    return title, package


@router.get("/titles/{title_id}")
def title_page(
    request: Request,
    title_id: str,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    viewer: ViewerDep,
) -> Response:
    """A title's page: details, when it may be watched here, and a play button if it may."""
    title = catalog.get_title(db, title_id)
    _check_profile_limit(viewer, title)
    decision = _decision(db, platform, viewer, title.id)
    if not decision.available and decision.opens_at is None:
        raise Problem(404, "Not available", "this title is not available in your country")
    package = media.package_for_title(db, title.id)
    name, synopsis = catalog.localized(title, viewer.language)
    context = {
        "user": user,
        "csrf": csrf_for(platform, user),
        "title": title,
        "name": name,
        "synopsis": synopsis,
        "genres": catalog_flows.genre_names(db, title, viewer.language),
        "credits": catalog.credits_of(db, title.id),
        "children": catalog.children(db, title.id),
        "decision": decision,
        "package": package,
        "urls": playback_urls(package) if package else None,
    }
    return render(request, "title.html", context)


def _check_profile_limit(viewer: Viewer, title: Title) -> None:
    """Refuse a title rated above the profile's limit, even reached by its address."""
    if catalog_flows.above_profile_limit(viewer, title):
        raise Problem(
            403,
            "Not for this profile",
            f"this title is rated -{title.age_rating}, above this profile's limit",
        )


def _decision(db: DbDep, platform: PlatformDep, viewer: Viewer, title_id: str) -> Decision:
    policy = rights.rights_policy(db, platform.settings.platform_profile)
    return rights.decide(
        db,
        policy=policy,
        title_id=title_id,
        territory=viewer.territory,
        license_type=viewer.license_type,
        at=viewer.at,
    )


@router.post("/titles/{title_id}/adult-code")
def adult_code(
    request: Request,
    title_id: str,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    csrf: Annotated[str, Form(max_length=128)],
    code: Annotated[str, Form(max_length=16)],
) -> Response:
    """Check the account's -18 code, then go on to the player."""
    check_csrf(platform, user, csrf)
    title = catalog.get_title(db, title_id)
    try:
        profiles.verify_adult_code(db, user_id=user.id, code=code)
    except (profiles.WrongPin, profiles.AdultCodeRequired) as error:
        context = {
            "user": user,
            "csrf": csrf_for(platform, user),
            "title": title,
            "error": str(error),
        }
        return render(request, "adult_code.html", context, status_code=403)
    response = RedirectResponse(f"/titles/{title.id}/watch", status_code=303)
    response.set_cookie(
        ADULT_COOKIE,
        adult_cookie(platform.signing_key, session_token_hash=user.session_token_hash),
        httponly=True,
        samesite="lax",
        secure=platform.settings.secure_cookies,
        path="/",
    )
    return response


@router.get("/titles/{title_id}/watch")
def watch_page(
    request: Request,
    title_id: str,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    viewer: ViewerDep,
    profile: ProfileDep,
    format: Annotated[str, Query(pattern="^(dash|hls)$")] = "dash",
) -> Response:
    """The player, on the DASH stream by default or on HLS with ``?format=hls``.

    The page signs nothing: the player asks ``POST /api/playback``, which decides (plan,
    stream limit, rights, profile) and answers the servers and the signed paths. The checks
    here only spare a viewer a player page that would certainly be refused.
    """
    title, package = _playable(db, title_id)
    _check_profile_limit(viewer, title)
    decision = _decision(db, platform, viewer, title.id)
    if not decision.available:
        raise Problem(403, "Not available", decision.reason)
    if title.age_rating == "18" and not adult_cookie_valid(
        platform.signing_key,
        session_token_hash=user.session_token_hash,
        cookie=request.cookies.get(ADULT_COOKIE),
    ):
        # Arcom: -18 programmes only after the account's personal code, at each session.
        context = {"user": user, "csrf": csrf_for(platform, user), "title": title, "error": None}
        return render(request, "adult_code.html", context, status_code=403)
    assert profile is not None  # a signed-in page always has one, or was sent to choose
    context = {
        "user": user,
        "csrf": csrf_for(platform, user),
        "title": title,
        "profile_id": profile.id,
        "next_episode": next_episode_for(
            db, title=title, language=profile.language, duration=package.duration_seconds
        ),
        "package": package,
        "format": format,
    }
    response = render(request, "watch.html", context)
    response.headers["Content-Security-Policy"] = content_security_policy(
        _media_servers(db, platform)
    )
    return response


def _media_servers(db: DbDep, platform: PlatformDep) -> list[str]:
    """Every server a play may be steered to: the registered edges, the origin."""
    config = delivery_config(platform)
    edges = delivery.edge_statuses(db, now=platform.clock.now(), policy=config.health)
    return [edge.base_url for edge in edges] + [config.origin_url]
