"""Serving published media (Range, HEAD, ETag and caching headers, for signed-in users), and
the delivery network's API: edges' signed heartbeats and fill plans, the operators' edge list.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError

from cineflux.delivery import service as delivery
from cineflux.delivery.flows import delivery_config, fill_plan
from cineflux.delivery.schemas import (
    EdgeList,
    EdgeRead,
    FillPlanRead,
    HeartbeatAck,
    HeartbeatIn,
)
from cineflux.delivery.service import (
    MEDIA_ROUTE,
    RangeNotSatisfiable,
    cache_control_for,
    content_type_for,
    parse_range,
)
from cineflux.edge import tokens
from cineflux.edge.protocol import etag_matches
from cineflux.platform import Platform
from cineflux.web.deps import ApiUserDep, DbDep, OperatorDep, PlatformDep
from cineflux.web.problems import Problem

router = APIRouter(tags=["delivery"])
cdn_router = APIRouter(prefix="/api/cdn", tags=["cdn"])
MAX_HEARTBEAT_BYTES = 16 * 1024
# Segments, manifests, posters and sprites are small: read whole in the route's worker
# thread and written at once, a segment leaves several times sooner than through
# FileResponse, whose 64 KiB reads are a thread crossing each (bench/playback.py, first
# frame). Larger local files still stream.
WHOLE_READ_MAX_BYTES = 16 * 1024 * 1024


@router.get(f"{MEDIA_ROUTE}/{{key:path}}", operation_id="get_media")
@router.head(f"{MEDIA_ROUTE}/{{key:path}}", operation_id="head_media")
def serve_media(key: str, request: Request, platform: PlatformDep, _user: ApiUserDep) -> Response:
    """A stored file (manifest, segment, poster), with byte ranges and conditional requests."""
    return _stored_file(key, request, platform)


@router.get(f"{tokens.TOKEN_ROUTE}/{{token}}/{{key:path}}", operation_id="get_signed_media")
@router.head(f"{tokens.TOKEN_ROUTE}/{{token}}/{{key:path}}", operation_id="head_signed_media")
def serve_signed_media(token: str, key: str, request: Request, platform: PlatformDep) -> Response:
    """The origin of the delivery network: a stored file opened by a signed edge token.

    Edges fetch their misses here with the player's own token, and players come here last
    when no edge answers; the token is checked exactly as an edge checks it.
    """
    config = delivery_config(platform)
    try:
        tokens.verify_token(
            token, keys=config.keys, path=f"/{key}", now=platform.clock.now().timestamp()
        )
    except tokens.TokenError as refused:
        raise Problem(refused.status, "Refused", str(refused)) from None
    response = _stored_file(key, request, platform)
    # Tokens, not cookies, open these files: any page may fetch them (players on other hosts).
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _stored_file(key: str, request: Request, platform: Platform) -> Response:
    storage = platform.storage
    info = storage.stat(key)
    if info is None:
        raise Problem(404, "Not found", "no such media file")
    headers = {"Cache-Control": cache_control_for(key), "ETag": info.etag}
    if etag_matches(request.headers.get("if-none-match"), info.etag):
        return Response(status_code=304, headers=headers)
    if info.size > WHOLE_READ_MAX_BYTES:
        path = storage.local_path(key)
        if path is not None:  # streamed, ranges and all, by Starlette
            return FileResponse(path, media_type=content_type_for(key), headers=headers)
    return _object_response(request, key, info.size, headers, platform)


def _object_response(
    request: Request, key: str, size: int, headers: dict[str, str], platform: Platform
) -> Response:
    """A stored object, whole or one range of it, read at once."""
    headers = {**headers, "Accept-Ranges": "bytes"}
    try:
        wanted = parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end = wanted if wanted is not None else (0, size - 1)
    status = 206 if wanted is not None else 200
    if wanted is not None:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    if request.method == "HEAD" or size == 0:
        headers["Content-Length"] = str(end - start + 1 if size else 0)
        return Response(status_code=status, headers=headers, media_type=content_type_for(key))
    body = platform.storage.read_range(key, start, end)
    return Response(body, status_code=status, headers=headers, media_type=content_type_for(key))


async def _raw_body(request: Request) -> bytes:
    return await request.body()


def _verify_edge(request: Request, platform: Platform, body: bytes) -> delivery.DeliveryConfig:
    """The delivery configuration, once the request is known to come from an edge."""
    config = delivery_config(platform)
    delivery.verify_edge_request(
        config,
        request.headers.get(delivery.EDGE_SIGNATURE_HEADER),
        method=request.method,
        target=request.url.path,
        body=body,
        now=platform.clock.now(),
    )
    return config


@cdn_router.post(
    "/heartbeat",
    response_model=HeartbeatAck,
    operation_id="cdn_heartbeat",
    # The body is read raw (its signature covers the exact bytes), so it is declared here.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": HeartbeatIn.model_json_schema()}},
        }
    },
)
def heartbeat(
    request: Request,
    body: Annotated[bytes, Depends(_raw_body)],
    db: DbDep,
    platform: PlatformDep,
) -> HeartbeatAck:
    """An edge's heartbeat, signed with an edge key; the first one registers the edge."""
    if len(body) > MAX_HEARTBEAT_BYTES:
        raise Problem(413, "Heartbeat too large")
    config = _verify_edge(request, platform, body)
    try:
        report = HeartbeatIn.model_validate_json(body)
    except ValidationError as error:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()]
        raise Problem(
            422, "Invalid heartbeat", "the heartbeat does not match", errors=errors
        ) from None
    edge = delivery.record_heartbeat(
        db,
        delivery.Heartbeat(**report.model_dump()),
        now=platform.clock.now(),
        policy=config.health,
    )
    return HeartbeatAck(accepted=True, in_rotation=edge.in_rotation)


@cdn_router.get(
    "/sites/{site}/fill-plan", response_model=FillPlanRead, operation_id="cdn_fill_plan"
)
def site_fill_plan(request: Request, site: str, db: DbDep, platform: PlatformDep) -> FillPlanRead:
    """The site's plan for the coming off-peak window (signed by an edge, like heartbeats)."""
    config = _verify_edge(request, platform, b"")
    plan = fill_plan(db, config, storage=platform.storage, site=site, now=platform.clock.now())
    return FillPlanRead.model_validate(plan.to_json())


@cdn_router.get("/edges", response_model=EdgeList, operation_id="list_cdn_edges")
def list_edges(db: DbDep, platform: PlatformDep, _operator: OperatorDep) -> EdgeList:
    """Every edge with its health, load and rotation (operators only)."""
    config = delivery_config(platform)
    statuses = delivery.edge_statuses(db, now=platform.clock.now(), policy=config.health)
    return EdgeList(
        items=[EdgeRead.model_validate(status, from_attributes=True) for status in statuses]
    )
