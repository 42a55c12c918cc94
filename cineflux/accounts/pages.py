"""Account pages: sign-in and out, sign-up, email verification, password reset, TV activation."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from cineflux.accounts import devices, flows
from cineflux.accounts import service as accounts
from cineflux.accounts.models import User
from cineflux.platform import Platform
from cineflux.web.deps import (
    SESSION_COOKIE,
    DbDep,
    OptionalUserDep,
    PageUserDep,
    PlatformDep,
    check_csrf,
    csrf_for,
    first_profile,
    safe_next_path,
)
from cineflux.web.templating import render

router = APIRouter(include_in_schema=False)

FORM_CSRF_COOKIE = "cineflux_form_csrf"
AFTER_SIGN_UP = "/plans"


def public_form(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """A form for visitors without a session, with a double-submit CSRF token."""
    # No session to bind the token to yet: the same random value goes in the form and in a
    # SameSite=Strict cookie scoped to this form's path, and both must come back.
    token = secrets.token_urlsafe(24)
    response = render(
        request, template, {"user": None, **context, "csrf": token}, status_code=status_code
    )
    response.set_cookie(
        FORM_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.app.state.platform.settings.secure_cookies,
        path=request.url.path,
    )
    return response


def public_form_valid(request: Request, presented: str) -> bool:
    """Whether a public form came back with the token of its cookie."""
    expected = request.cookies.get(FORM_CSRF_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected, presented)


def signed_in_redirect(db: DbDep, platform: Platform, user: User, target: str) -> Response:
    """Open a web session for ``user`` and send the browser on to ``target`` with its cookie."""
    ttl = timedelta(hours=platform.settings.session_ttl_hours)
    accounts.purge_expired_sessions(db, clock=platform.clock)  # one indexed delete per sign-in
    token = accounts.open_session(db, clock=platform.clock, user=user, ttl=ttl)
    # Made here, in a writing request, rather than by the first page (a read).
    first_profile(platform, db, user_id=user.id, name=user.display_name)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=platform.settings.secure_cookies,
        path="/",
    )
    return response


def _notice(
    request: Request, title: str, message: str, status_code: int = 200, **more: Any
) -> Response:
    context = {"user": None, "heading": title, "message": message, **more}
    return render(request, "notice.html", context, status_code=status_code)


_EXPIRED_FORM = "The form expired. Please try again."


def _login_page(
    request: Request, next_path: str, error: str | None = None, status_code: int = 200
) -> Response:
    return public_form(request, "login.html", {"next": next_path, "error": error}, status_code)


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
    """Check the credentials under the rate limits, open a session and go on."""
    target = safe_next_path(next)
    if not public_form_valid(request, csrf):
        return _login_page(request, target, "The form expired. Please sign in again.", 403)
    address = request.client.host if request.client else None
    try:
        user = accounts.sign_in(
            db, clock=platform.clock, email=email, password=password, address=address
        )
    except accounts.SignInLocked as locked:
        minutes = -(-locked.retry_after // 60)
        message = (
            "Too many failed sign-in attempts: signing in is paused for your security. "
            f"Try again in {minutes} minute{'s' if minutes > 1 else ''}, or reset your password."
        )
        response = _login_page(request, target, message, 429)
        response.headers["Retry-After"] = str(locked.retry_after)
        return response
    except accounts.InvalidCredentials:
        return _login_page(request, target, "Wrong email or password.", 401)
    response = signed_in_redirect(db, platform, user, target)
    response.delete_cookie(FORM_CSRF_COOKIE, path="/login")
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


@router.get("/signup")
def signup_form(request: Request, user: OptionalUserDep) -> Response:
    """The sign-up form (signed-in visitors go straight to the plans)."""
    if user is not None:
        return RedirectResponse(AFTER_SIGN_UP, status_code=303)
    return public_form(request, "signup.html", {"error": None, "email": "", "name": ""})


@router.post("/signup")
def signup_submit(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=128)],
    name: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    """Create the account, mail the verification link, sign in and go to the plans."""
    context = {"email": email, "name": name}
    if not public_form_valid(request, csrf):
        return public_form(request, "signup.html", {**context, "error": _EXPIRED_FORM}, 403)
    try:
        user = flows.sign_up(
            db,
            clock=platform.clock,
            base_url=platform.settings.base_url,
            email=email,
            password=password,
            display_name=name or None,
        )
    except accounts.EmailTaken:
        error = "An account already uses this email. Sign in, or reset your password."
        return public_form(request, "signup.html", {**context, "error": error}, 409)
    except accounts.InvalidAccountData as invalid:
        return public_form(request, "signup.html", {**context, "error": str(invalid)}, 422)
    response = signed_in_redirect(db, platform, user, AFTER_SIGN_UP)
    response.delete_cookie(FORM_CSRF_COOKIE, path="/signup")
    return response


@router.get("/verify-email")
def verify_email_form(request: Request, token: str = "") -> Response:
    """A button that confirms the address: a GET must not use the token (mail scanners)."""
    return public_form(request, "verify_email.html", {"token": token})


@router.post("/verify-email")
def verify_email_submit(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    token: Annotated[str, Form(max_length=128)],
    csrf: Annotated[str, Form(max_length=128)],
) -> Response:
    """Use the verification token."""
    if not public_form_valid(request, csrf):
        return public_form(request, "verify_email.html", {"token": token}, 403)
    try:
        accounts.verify_email(db, clock=platform.clock, token=token)
    except accounts.InvalidToken as invalid:
        return _notice(request, "Link not valid", f"{str(invalid).capitalize()}.", 400)
    return _notice(
        request, "Email verified", "Your email address is confirmed.", link=(AFTER_SIGN_UP, "Plans")
    )


@router.get("/forgot-password")
def forgot_password_form(request: Request) -> Response:
    """Ask for a reset link."""
    return public_form(request, "forgot_password.html", {"error": None})


@router.post("/forgot-password")
def forgot_password_submit(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    email: Annotated[str, Form(max_length=320)],
    csrf: Annotated[str, Form(max_length=128)],
) -> Response:
    """Mail a reset link; the page says the same whether the account exists or not."""
    if not public_form_valid(request, csrf):
        return public_form(request, "forgot_password.html", {"error": _EXPIRED_FORM}, 403)
    flows.request_password_reset(
        db, clock=platform.clock, base_url=platform.settings.base_url, email=email
    )
    return _notice(
        request,
        "Check your mail",
        "If an account uses this email, we sent it a link to choose a new password. "
        "The link works once, within an hour.",
    )


@router.get("/reset-password")
def reset_password_form(request: Request, token: str = "") -> Response:
    """Choose a new password."""
    return public_form(request, "reset_password.html", {"token": token, "error": None})


@router.post("/reset-password")
def reset_password_submit(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    token: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=128)],
) -> Response:
    """Set the new password; every session and device is signed out."""
    context: dict[str, Any] = {"token": token}
    if not public_form_valid(request, csrf):
        return public_form(request, "reset_password.html", {**context, "error": _EXPIRED_FORM}, 403)
    try:
        accounts.reset_password(db, clock=platform.clock, token=token, new_password=password)
    except accounts.InvalidToken as invalid:
        return _notice(request, "Link not valid", f"{str(invalid).capitalize()}.", 400)
    except accounts.InvalidAccountData as invalid:
        return public_form(request, "reset_password.html", {**context, "error": str(invalid)}, 422)
    response = _notice(
        request,
        "Password changed",
        "Your new password is set, and every device was signed out.",
        link=("/login", "Sign in"),
    )
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/activate")
def activate_form(
    request: Request, platform: PlatformDep, user: PageUserDep, user_code: str = ""
) -> Response:
    """Where a subscriber types the code their TV shows."""
    context = {"user": user, "csrf": csrf_for(platform, user), "code": user_code, "error": None}
    return render(request, "activate.html", context)


@router.post("/activate")
def activate_submit(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    user: PageUserDep,
    user_code: Annotated[str, Form(max_length=20)],
    decision: Annotated[str, Form(pattern="^(approve|deny)$")],
    csrf: Annotated[str, Form(max_length=128)],
) -> Response:
    """Approve (for this account) or deny the device showing the code."""
    check_csrf(platform, user, csrf)
    approve = decision == "approve"
    try:
        devices.decide_device(
            db, clock=platform.clock, user_id=user.id, user_code=user_code, approve=approve
        )
    except devices.UserCodeInvalid as invalid:
        context = {
            "user": user,
            "csrf": csrf_for(platform, user),
            "code": user_code,
            "error": f"{str(invalid).capitalize()}.",
        }
        return render(request, "activate.html", context, status_code=400)
    heading, message = (
        ("Device signed in", "Your TV is signing in to your account; it will start in a moment.")
        if approve
        else ("Device refused", "The TV was not signed in.")
    )
    return render(
        request,
        "notice.html",
        {"user": user, "csrf": csrf_for(platform, user), "heading": heading, "message": message},
    )
