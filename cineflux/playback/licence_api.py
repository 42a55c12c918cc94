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
from starlette.concurrency import run_in_threadpool

from cineflux.accounts.service import SignedInUser
from cineflux.platform import Platform
from cineflux.playback.licences import LicenceServers, content_key, issue_licence
from cineflux.playback.service import PlaybackPolicy
from cineflux.protection.cenc import CLEAR_KEY, InvalidLicenceRequest
from cineflux.protection.keystore import key_store
from cineflux.web.deps import ApiUserDep, DbDep, PlatformDep

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


def _licence(
    platform: Platform,
    user: SignedInUser,
    db: Session,
    session_id: str,
    key_system: str,
    body: bytes,
) -> Response:
    licence = issue_licence(
        db,
        keys=key_store(platform.settings),
        servers=LicenceServers.from_settings(platform.settings),
        user_id=user.id,
        session_id=session_id,
        key_system=key_system,
        challenge=body,
        now=platform.clock.now(),
        policy=PlaybackPolicy.from_settings(platform.settings),
    )
    return Response(
        licence.body, media_type=licence.media_type, headers={"Cache-Control": "no-store"}
    )


@router.post("/{session_id}/license", operation_id="playback_licence")
async def clear_key_licence(
    session_id: SessionIdPath,
    request: Request,
    platform: PlatformDep,
    user: ApiUserDep,
    db: DbDep,
) -> Response:
    """W3C Clear Key licence of an active play: the body is the CDM's JSON request
    (``{"kids": [...], "type": "temporary"}``), the answer the JWK set of those keys."""
    body = await _challenge(request)
    return await run_in_threadpool(_licence, platform, user, db, session_id, CLEAR_KEY, body)


@router.post("/{session_id}/license/{key_system}", operation_id="playback_licence_for")
async def licence_for_key_system(
    session_id: SessionIdPath,
    key_system: KeySystemPath,
    request: Request,
    platform: PlatformDep,
    user: ApiUserDep,
    db: DbDep,
) -> Response:
    """A licence from the server registered for ``key_system`` (404 when there is none)."""
    body = await _challenge(request)
    return await run_in_threadpool(_licence, platform, user, db, session_id, key_system, body)


@router.get("/{session_id}/keys/{kid}", operation_id="playback_content_key")
def hls_content_key(
    session_id: SessionIdPath, kid: KidPath, platform: PlatformDep, user: ApiUserDep, db: DbDep
) -> Response:
    """HLS "identity" key delivery: the 16 raw bytes of one of the play's title's keys,
    under the same rules as licences (an active play of the caller's account)."""
    key = content_key(
        db,
        keys=key_store(platform.settings),
        user_id=user.id,
        session_id=session_id,
        kid=kid,
        now=platform.clock.now(),
        policy=PlaybackPolicy.from_settings(platform.settings),
    )
    return Response(
        key, media_type="application/octet-stream", headers={"Cache-Control": "no-store"}
    )
