"""A playback session's personalised manifests over HTTP, for the session's account only.

``POST /api/playback`` names them in its answer (``manifests``); players load them from this
API and everything else (HLS media playlists, segments) from the servers inside them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.orm import Session

from cineflux.accounts.service import SignedInUser
from cineflux.platform import Platform
from cineflux.playback.api import playback_context
from cineflux.playback.session_manifests import (
    MEDIA_TYPES,
    ManifestKind,
    SessionManifest,
    session_manifest,
)
from cineflux.web.deps import Credentials, CredentialsDep, PlatformDep, run_signed_in

router = APIRouter(prefix="/api/playback", tags=["playback"])

SessionIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


async def _answer(
    kind: ManifestKind,
    session_id: str,
    request: Request,
    platform: Platform,
    credentials: Credentials,
) -> Response:
    ctx = playback_context(platform, request)
    client_ip = request.client.host if request.client else None

    def manifest_of(db: Session, user: SignedInUser) -> SessionManifest:
        return session_manifest(
            db,
            ctx=ctx,
            storage=platform.storage,
            user_id=user.id,
            session_id=session_id,
            kind=kind,
            client_ip=client_ip,
        )

    manifest = await run_signed_in(platform, credentials, manifest_of, writes=False)
    # Personal, and it holds the session's token: never kept by a cache.
    headers = {"Cache-Control": "private, no-store"}
    return Response(manifest.body, media_type=manifest.media_type, headers=headers)


def _documented(kind: ManifestKind) -> dict[int | str, dict[str, object]]:
    return {200: {"content": {MEDIA_TYPES[kind]: {}}, "description": "the manifest"}}


@router.get(
    "/{session_id}/manifest.mpd",
    response_class=Response,
    responses=_documented("dash"),
    operation_id="playback_dash_manifest",
)
async def dash_manifest(
    session_id: SessionIdPath, request: Request, platform: PlatformDep, credentials: CredentialsDep
) -> Response:
    """The play's DASH MPD: the video it may have, segments on its ranked servers. 410
    once the play was stopped or lapsed."""
    return await _answer("dash", session_id, request, platform, credentials)


@router.get(
    "/{session_id}/master.m3u8",
    response_class=Response,
    responses=_documented("hls"),
    operation_id="playback_hls_manifest",
)
async def hls_manifest(
    session_id: SessionIdPath, request: Request, platform: PlatformDep, credentials: CredentialsDep
) -> Response:
    """The play's HLS multivariant playlist: the variants it may have, media playlists on
    its first server. 410 once the play was stopped or lapsed."""
    return await _answer("hls", session_id, request, platform, credentials)
