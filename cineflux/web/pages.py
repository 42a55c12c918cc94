"""Server-rendered pages of the subscriber app: sign-in, home, title, player."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from cineflux.accounts import service as accounts
from cineflux.catalog import flows as catalog_flows
from cineflux.catalog import service as catalog
from cineflux.catalog.flows import TitleCard, Viewer
from cineflux.catalog.models import Title
from cineflux.delivery.service import playback_urls
from cineflux.media import service as media
from cineflux.media.models import MediaPackage
from cineflux.rights import service as rights
from cineflux.rights.chronology import Decision
from cineflux.web.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    DbDep,
    OptionalUserDep,
    PageUserDep,
    PlatformDep,
    ViewerDep,
    check_csrf,
    csrf_for,
    safe_next_path,
)
from cineflux.web.problems import Problem
from cineflux.web.templating import render

router = APIRouter(include_in_schema=False)


def _login_page(
    request: Request, next_path: str, error: str | None = None, status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"csrf": token, "next": next_path, "error": error, "user": None},
        status_code=status_code,
    )
    # Double-submit token for the sign-in form: there is no session yet to bind it to.
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.app.state.platform.settings.secure_cookies,
        path="/login",
    )
    return response


@router.get("/login")
def login_form(request: Request, user: OptionalUserDep, next: str | None = None) -> Response:
    """The sign-in form (or straight on, when already signed in)."""
    if user is not None:
        return RedirectResponse(safe_next_path(next), status_code=303)
    return _login_page(request, safe_next_path(next))


@router.post("/login")
def login_submit(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=128)],
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    """Check the credentials, open a session and go where the user was heading."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, csrf):
        return _login_page(
            request,
            safe_next_path(next),
            "The form expired. Please sign in again.",
            status_code=403,
        )
    try:
        user = accounts.authenticate(db, email=email, password=password)
    except accounts.InvalidCredentials:
        return _login_page(
            request, safe_next_path(next), "Wrong email or password.", status_code=401
        )
    ttl = timedelta(hours=platform.settings.session_ttl_hours)
    accounts.purge_expired_sessions(db, clock=platform.clock)  # one indexed delete per sign-in
    token = accounts.open_session(db, clock=platform.clock, user=user, ttl=ttl)
    response = RedirectResponse(safe_next_path(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=platform.settings.secure_cookies,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    csrf: Annotated[str, Form(max_length=128)],
) -> Response:
    """End the session (a POST with the session's CSRF token, so no page can force it)."""
    check_csrf(platform, user, csrf)
    accounts.close_session(db, token=request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _posters(db: DbDep, cards: list[TitleCard]) -> dict[str, str]:
    packages = media.packages_by_title(db, (c.id for c in cards))
    return {title_id: playback_urls(p).poster for title_id, p in packages.items()}


@router.get("/")
def home(
    request: Request, db: DbDep, platform: PlatformDep, user: PageUserDep, viewer: ViewerDep
) -> Response:
    """The home screen: rows of titles the viewer may watch here and now."""
    rows = catalog_flows.home_rows(db, viewer)
    posters = _posters(db, [card for row in rows for card in row.items])
    return render(
        request,
        "home.html",
        {
            "user": user,
            "rows": rows,
            "posters": posters,
            "viewer": viewer,
            "csrf": csrf_for(platform, user),
        },
    )


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
            "posters": _posters(db, results),
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


@router.get("/titles/{title_id}/watch")
def watch_page(
    request: Request,
    title_id: str,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    viewer: ViewerDep,
    format: Annotated[str, Query(pattern="^(dash|hls)$")] = "dash",
) -> Response:
    """The player, on the DASH stream by default or on HLS with ``?format=hls``."""
    title, package = _playable(db, title_id)
    decision = _decision(db, platform, viewer, title.id)
    if not decision.available:
        raise Problem(403, "Not available", decision.reason)
    urls = playback_urls(package)
    context = {
        "user": user,
        "csrf": csrf_for(platform, user),
        "title": title,
        "package": package,
        "urls": urls,
        "format": format,
        "manifest": urls.dash if format == "dash" else urls.hls,
    }
    return render(request, "watch.html", context)
