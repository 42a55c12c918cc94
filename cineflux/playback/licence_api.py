"""Licence route of encrypted plays: ``POST /api/playback/{session_id}/license``.

The CDM's message goes in as the body, the licence comes back as is. Browsers send the
session cookie (same origin), device apps ``Authorization: Bearer``. Cookie-authenticated
POSTs need no CSRF token here: the cookie is SameSite=Lax (never sent on a cross-site
POST) and a licence is useless to a page that cannot read the answer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.orm import Session

from cineflux.accounts.service import SignedInUser
from cineflux.platform import Platform
from cineflux.playback.api import playback_context
from cineflux.playback.flows import PlaybackContext
from cineflux.playback.licences import LicenceRefused, content_key, issue_licence
from cineflux.protection.cenc import CLEAR_KEY, InvalidLicenceRequest
from cineflux.protection.keystore import KeyStore
from cineflux.web.deps import Credentials, CredentialsDep, PlatformDep, run_signed_in

router = APIRouter(prefix="/api/playback", tags=["playback"])

SessionIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
KidPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
KeySystemPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9.-]{0,63}$")]
MAX_CHALLENGE_BYTES = 64 * 1024


async def _challenge(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_CHALLENGE_BYTES:
        raise InvalidLicenceRequest("a licence request is at most 64 KiB")
    return body


def _key_store(ctx: PlaybackContext) -> KeyStore:
    if ctx.keys is None:
        raise LicenceRefused("this platform has no content key store")
    return ctx.keys


async def _licence(
    request: Request,
    platform: Platform,
    credentials: Credentials,
    session_id: str,
    key_system: str,
) -> Response:
    body = await _challenge(request)
    ctx = playback_context(platform, request)

    def licence_of(db: Session, user: SignedInUser) -> Response:
        licence = issue_licence(
            db,
            keys=_key_store(ctx),
            servers=ctx.licence_servers,
            user_id=user.id,
            session_id=session_id,
            key_system=key_system,
            challenge=body,
            now=ctx.clock.now(),
            policy=ctx.policy,
        )
        return Response(
            licence.body, media_type=licence.media_type, headers={"Cache-Control": "no-store"}
        )

    # Licences only read: the two a player asks at once (video and audio keys) run side
    # by side, not one after the other behind SQLite's write lock (the start of every play).
    return await run_signed_in(platform, credentials, licence_of, writes=False)


@router.post("/{session_id}/license", operation_id="playback_licence")
async def clear_key_licence(
    session_id: SessionIdPath, request: Request, platform: PlatformDep, credentials: CredentialsDep
) -> Response:
    """W3C Clear Key licence of an active play: the body is the CDM's JSON request
    (``{"kids": [...], "type": "temporary"}``), the answer the JWK set of those keys."""
    return await _licence(request, platform, credentials, session_id, CLEAR_KEY)


@router.post("/{session_id}/license/{key_system}", operation_id="playback_licence_for")
async def licence_for_key_system(
    session_id: SessionIdPath,
    key_system: KeySystemPath,
    request: Request,
    platform: PlatformDep,
    credentials: CredentialsDep,
) -> Response:
    """A licence from the server registered for ``key_system`` (404 when there is none)."""
    return await _licence(request, platform, credentials, session_id, key_system)


@router.get("/{session_id}/keys/{kid}", operation_id="playback_content_key")
async def hls_content_key(
    session_id: SessionIdPath,
    kid: KidPath,
    request: Request,
    platform: PlatformDep,
    credentials: CredentialsDep,
) -> Response:
    """HLS "identity" key delivery: the 16 raw bytes of one of the play's title's keys,
    under the same rules as licences (an active play of the caller's account)."""
    ctx = playback_context(platform, request)

    def key_of(db: Session, user: SignedInUser) -> bytes:
        return content_key(
            db,
            keys=_key_store(ctx),
            user_id=user.id,
            session_id=session_id,
            kid=kid,
            now=ctx.clock.now(),
            policy=ctx.policy,
        )

    key = await run_signed_in(platform, credentials, key_of, writes=False)
    return Response(
        key, media_type="application/octet-stream", headers={"Cache-Control": "no-store"}
    )
