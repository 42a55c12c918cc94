"""Playback HTTP API: authorise a play, heartbeat it, stop it, list the account's plays.

Admissions and heartbeats read, then write what they read, in one transaction on one
worker thread (``web.deps.run_signed_in``: on SQLite it holds the write lock from its
start). Cookie sessions need no CSRF token here: bodies are JSON (FastAPI refuses other
content types, and a cross-site page cannot send JSON without CORS, which this app does
not grant) and DELETE is never sent cross-site without a preflight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from cineflux.accounts.service import SignedInUser
from cineflux.config import Settings
from cineflux.platform import Platform
from cineflux.playback import flows
from cineflux.playback import service as playback
from cineflux.playback.flows import PlaybackContext, PlayRequest
from cineflux.playback.schemas import (
    ActivePlaybackRead,
    HeartbeatIn,
    HeartbeatRead,
    PlaybackCreate,
    PlaybackRead,
    active_read,
    heartbeat_read,
    playback_read,
)
from cineflux.playback.session_manifests import started_manifest
from cineflux.profiles.selection import (
    ADULT_COOKIE,
    PROFILE_COOKIE,
    PROFILE_HEADER,
    adult_cookie_valid,
    selected_profile_id,
)
from cineflux.web.deps import (
    BEARER_SECURITY,
    ApiUserDep,
    CredentialsDep,
    DbDep,
    PlatformDep,
    request_credentials,
    run_signed_in,
)

router = APIRouter(prefix="/api/playback", tags=["playback"])

SessionIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


# Contexts kept per app: building one reads key files and parses settings (milliseconds of
# every play's CPU, measured by bench/playback.py); a few origins at most, as clients name them.
MAX_CONTEXTS = 16


def playback_context(platform: Platform, request: Request) -> PlaybackContext:
    """The playback context of this platform, for the origin the client reached.

    Kept until the settings or the coverage zone file change (both are read again as
    before whenever they do), so one process builds it once, not once per request.
    """
    settings = platform.settings
    origin: str | None = None
    if settings.cdn_origin_url is None and settings.public_url is None:
        # Unconfigured, the origin is this very server, at the address the client used.
        origin = str(request.base_url).rstrip("/")
    state = request.app.state
    kept: _Contexts | None = getattr(state, "playback_contexts", None)
    # Settings are mutable (an operator's tooling, tests): compared field by field, which
    # costs microseconds where dumping them to compare cost a play 4 % of its CPU.
    if kept is None or kept.settings is not settings or kept.fields != vars(settings):
        kept = state.playback_contexts = _Contexts(settings, dict(vars(settings)))
    key = (origin, _file_version(settings.coverage_zones))
    context = kept.contexts.get(key)
    if context is None:
        context = PlaybackContext.of(platform, origin_url=origin)
        if len(kept.contexts) >= MAX_CONTEXTS:  # Host headers are the client's: bounded
            kept.contexts.clear()
        kept.contexts[key] = context
    return context


@dataclass
class _Contexts:
    """The contexts built from these settings, while their fields are these."""

    settings: Settings
    fields: dict[str, object]
    contexts: dict[tuple[object, ...], PlaybackContext] = field(default_factory=dict)


def _file_version(path: FilePath | None) -> tuple[int, int] | None:
    """A file's modification time and size (None without a file, or when unreadable)."""
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@router.post(
    "",
    status_code=201,
    response_model=PlaybackRead,
    operation_id="start_playback",
    openapi_extra=BEARER_SECURITY,
)
async def start_playback(body: PlaybackCreate, request: Request) -> Response:
    """Authorise a play of a film or an episode: subscription, profile (PIN, maturity,
    -18 code), rights here and now, the device, and the plan's stream limit. With
    ``manifest``, the answer carries that personalised manifest too."""
    platform: Platform = request.app.state.platform
    credentials = request_credentials(request)
    ctx = playback_context(platform, request)

    def authorise(db: Session, user: SignedInUser) -> PlaybackRead:
        start = flows.start_playback(
            db, ctx=ctx, request=play_request(request, platform, user, body)
        )
        if body.manifest is None:
            return playback_read(start)
        manifest = started_manifest(platform.storage, start, body.manifest)
        return playback_read(start, (body.manifest, manifest))

    answer = await run_signed_in(platform, credentials, authorise, writes=True)
    return _json(answer, status_code=201)


def play_request(
    request: Request, platform: Platform, user: SignedInUser, body: PlaybackCreate
) -> PlayRequest:
    """The play asked for, with what the session proves (profile unlocked, -18 code)."""
    key, session_hash = platform.signing_key, user.session_token_hash
    # Browsers keep the profile choice in a cookie; device apps send it back in a header.
    selection = request.headers.get(PROFILE_HEADER) or request.cookies.get(PROFILE_COOKIE)
    return PlayRequest(
        user_id=user.id,
        title_id=body.title_id,
        profile_id=body.profile_id,
        device=body.device.to_device(),
        client_ip=request.client.host if request.client else None,
        home_country=user.home_country,
        home_country_verified=user.home_country_verified,
        profile_unlocked=selected_profile_id(key, session_token_hash=session_hash, cookie=selection)
        == body.profile_id,
        adult_code_entered=adult_cookie_valid(
            key, session_token_hash=session_hash, cookie=request.cookies.get(ADULT_COOKIE)
        ),
        pin=body.pin,
        adult_code=body.adult_code,
    )


def _json(answer: BaseModel, *, status_code: int = 200) -> Response:
    # The model is built by its own constructor: FastAPI would validate it once more.
    return Response(answer.model_dump_json(), status_code, media_type="application/json")


@router.get("", response_model=list[ActivePlaybackRead], operation_id="list_playbacks")
def list_playbacks(platform: PlatformDep, user: ApiUserDep, db: DbDep) -> list[ActivePlaybackRead]:
    """The account's plays that count against its plan now, oldest first."""
    policy = playback.PlaybackPolicy.from_settings(platform.settings)
    rows = playback.active_sessions(db, user_id=user.id, now=platform.clock.now(), policy=policy)
    return [active_read(row) for row in rows]


@router.post(
    "/{session_id}/heartbeat", response_model=HeartbeatRead, operation_id="playback_heartbeat"
)
async def heartbeat(
    session_id: SessionIdPath,
    body: HeartbeatIn,
    request: Request,
    platform: PlatformDep,
    credentials: CredentialsDep,
) -> Response:
    """The player still plays (every 30 s): keeps the stream, saves the resume position,
    answers a fresh token. 410 once the play was stopped or lapsed: start it again."""
    ctx = playback_context(platform, request)

    def renew(db: Session, user: SignedInUser) -> HeartbeatRead:
        renewal = flows.renew_playback(
            db,
            ctx=ctx,
            user_id=user.id,
            session_id=session_id,
            position_seconds=body.position_seconds,
        )
        return heartbeat_read(renewal)

    return _json(await run_signed_in(platform, credentials, renew, writes=True))


@router.delete("/{session_id}", status_code=204, operation_id="stop_playback")
async def stop_playback(
    session_id: SessionIdPath,
    request: Request,
    platform: PlatformDep,
    credentials: CredentialsDep,
    position_seconds: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
) -> Response:
    """Stop a play: its stream is free at once; ``position_seconds`` is kept for resuming."""
    ctx = playback_context(platform, request)

    def stop(db: Session, user: SignedInUser) -> None:
        flows.stop_playback(
            db,
            ctx=ctx,
            user_id=user.id,
            session_id=session_id,
            position_seconds=position_seconds,
        )

    await run_signed_in(platform, credentials, stop, writes=True)
    return Response(status_code=204)
