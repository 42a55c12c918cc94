"""Accounts HTTP API: sign-up, verification, password reset, device sign-in and tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Response
from fastapi.responses import JSONResponse

from cineflux.accounts import devices, flows
from cineflux.accounts import service as accounts
from cineflux.accounts.schemas import (
    AcceptedRead,
    DeviceCodeRead,
    DeviceSessionRead,
    EmailVerifiedRead,
    MeRead,
    OAuthErrorRead,
    PasswordResetConfirm,
    PasswordResetRequest,
    SignUpRequest,
    TokenRead,
    TokenRequest,
)
from cineflux.web.deps import ApiUserDep, DbDep, PlatformDep

router = APIRouter(prefix="/api", tags=["accounts"])

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _me(user: accounts.SignedInUser) -> MeRead:
    return MeRead(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        email_verified=user.email_verified,
    )


@router.get("/me", response_model=MeRead)
def me(user: ApiUserDep) -> MeRead:
    """Who is signed in (by session cookie or bearer access token)."""
    return _me(user)


@router.post("/signup", response_model=MeRead, status_code=201)
def sign_up(body: SignUpRequest, db: DbDep, platform: PlatformDep) -> MeRead:
    """Create an unverified subscriber and mail the verification link (409 if taken)."""
    user = flows.sign_up(
        db,
        clock=platform.clock,
        base_url=platform.settings.base_url,
        email=body.email,
        password=body.password,
        display_name=body.display_name,
    )
    return _me(accounts.as_signed_in(user, session_token_hash=""))  # no session: just created


@router.post("/verify-email", response_model=EmailVerifiedRead)
def verify_email(body: TokenRequest, db: DbDep, platform: PlatformDep) -> EmailVerifiedRead:
    """Follow a verification link's token (single use; 400 if unknown, used or expired)."""
    accounts.verify_email(db, clock=platform.clock, token=body.token)
    return EmailVerifiedRead(email_verified=True)


@router.post("/verify-email/resend", response_model=AcceptedRead, status_code=202)
def resend_verification(db: DbDep, platform: PlatformDep, user: ApiUserDep) -> AcceptedRead:
    """Mail the signed-in user a new verification link."""
    sent = flows.resend_verification(
        db, clock=platform.clock, base_url=platform.settings.base_url, user_id=user.id
    )
    return AcceptedRead(detail="link sent" if sent else "the email is verified already")


@router.post("/password-reset", response_model=AcceptedRead, status_code=202)
def request_password_reset(
    body: PasswordResetRequest, db: DbDep, platform: PlatformDep
) -> AcceptedRead:
    """Mail a reset link; the answer never says whether the account exists."""
    flows.request_password_reset(
        db, clock=platform.clock, base_url=platform.settings.base_url, email=body.email
    )
    return AcceptedRead(detail="if an account uses this email, a link is on its way")


@router.post("/password-reset/confirm", status_code=204)
def confirm_password_reset(body: PasswordResetConfirm, db: DbDep, platform: PlatformDep) -> None:
    """Set the new password; every session and device of the account is signed out."""
    accounts.reset_password(db, clock=platform.clock, token=body.token, new_password=body.password)


@router.post("/device/code", response_model=DeviceCodeRead)
def device_code(db: DbDep, platform: PlatformDep, response: Response) -> DeviceCodeRead:
    """Start TV sign-in (RFC 8628): show ``user_code`` and ``verification_uri``, then poll."""
    started = devices.start_device_authorization(db, clock=platform.clock)
    uri = f"{platform.settings.base_url.rstrip('/')}/activate"
    response.headers.update(NO_STORE)
    return DeviceCodeRead(
        device_code=started.device_code,
        user_code=started.user_code,
        verification_uri=uri,
        verification_uri_complete=f"{uri}?user_code={started.user_code}",
        expires_in=started.expires_in,
        interval=started.interval,
    )


_TOKEN_RESPONSES: dict[int | str, dict[str, object]] = {
    400: {
        "model": OAuthErrorRead,
        "description": "authorization_pending, slow_down, access_denied, expired_token, "
        "invalid_grant, invalid_request or unsupported_grant_type",
    }
}


def _oauth_error(error: str, description: str) -> JSONResponse:
    body = OAuthErrorRead(error=error, error_description=description).model_dump()
    return JSONResponse(body, status_code=400, headers=NO_STORE)


def _token(
    db: DbDep,
    platform: PlatformDep,
    grant_type: str | None,
    device_code: str | None,
    refresh_token: str | None,
) -> Response:
    try:
        if grant_type == DEVICE_GRANT:
            if not device_code:
                return _oauth_error("invalid_request", "device_code is missing")
            pair = devices.poll_device_token(
                db, clock=platform.clock, signing_key=platform.signing_key, device_code=device_code
            )
        elif grant_type == "refresh_token":
            if not refresh_token:
                return _oauth_error("invalid_request", "refresh_token is missing")
            pair = devices.refresh_tokens(
                db,
                clock=platform.clock,
                signing_key=platform.signing_key,
                refresh_token=refresh_token,
            )
        else:
            return _oauth_error("unsupported_grant_type", f"grant_type must be {DEVICE_GRANT} "
                                "or refresh_token")  # fmt: skip
    except devices.GrantError as error:
        # Returned, not raised: the request's transaction commits what the refusal recorded
        # (the poll instant, a longer interval, a revoked token family).
        return _oauth_error(error.error, error.description)
    body = TokenRead(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token
    )
    return JSONResponse(body.model_dump(), headers=NO_STORE)


@router.post("/token", response_model=TokenRead, responses=_TOKEN_RESPONSES)
def token(
    db: DbDep,
    platform: PlatformDep,
    grant_type: Annotated[str | None, Form(max_length=100)] = None,
    refresh_token: Annotated[str | None, Form(max_length=256)] = None,
    device_code: Annotated[str | None, Form(max_length=256)] = None,
) -> Response:
    """OAuth token endpoint: ``refresh_token`` rotation (and the device grant)."""
    return _token(db, platform, grant_type, device_code, refresh_token)


@router.post("/device/token", response_model=TokenRead, responses=_TOKEN_RESPONSES)
def device_token(
    db: DbDep,
    platform: PlatformDep,
    grant_type: Annotated[str | None, Form(max_length=100)] = None,
    device_code: Annotated[str | None, Form(max_length=256)] = None,
) -> Response:
    """Poll for a TV's tokens (RFC 8628 §3.4-3.5) every ``interval`` seconds."""
    return _token(db, platform, grant_type, device_code, None)


@router.post("/token/revoke", status_code=200)
def revoke(
    db: DbDep,
    platform: PlatformDep,
    token: Annotated[str, Form(max_length=256)],
) -> Response:
    """Sign a device out with its refresh token (RFC 7009: unknown tokens answer 200 too)."""
    devices.revoke_refresh_token(db, clock=platform.clock, refresh_token=token)
    return Response(status_code=200, headers=NO_STORE)


@router.get("/me/devices", response_model=list[DeviceSessionRead])
def my_devices(db: DbDep, user: ApiUserDep) -> list[DeviceSessionRead]:
    """The devices signed in to this account."""
    return [
        DeviceSessionRead(id=d.id, created_at=d.created_at, last_used_at=d.last_used_at)
        for d in devices.device_sessions_of(db, user_id=user.id)
    ]


@router.delete("/me/devices/{session_id}", status_code=204)
def sign_out_device(session_id: str, db: DbDep, platform: PlatformDep, user: ApiUserDep) -> None:
    """Sign one of this account's devices out (404 for anybody else's)."""
    devices.sign_out_device(db, clock=platform.clock, user_id=user.id, session_id=session_id)
