"""Serving published media: Range, HEAD, ETag and caching headers, for signed-in users."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from cineflux.delivery.service import (
    MEDIA_ROUTE,
    RangeNotSatisfiable,
    cache_control_for,
    content_type_for,
    parse_range,
)
from cineflux.platform import Platform
from cineflux.web.deps import ApiUserDep, PlatformDep
from cineflux.web.problems import Problem

router = APIRouter(tags=["delivery"])


@router.get(f"{MEDIA_ROUTE}/{{key:path}}", operation_id="get_media")
@router.head(f"{MEDIA_ROUTE}/{{key:path}}", operation_id="head_media")
def serve_media(key: str, request: Request, platform: PlatformDep, _user: ApiUserDep) -> Response:
    """A stored file (manifest, segment, poster), with byte ranges and conditional requests."""
    storage = platform.storage
    info = storage.stat(key)
    if info is None:
        raise Problem(404, "Not found", "no such media file")
    headers = {"Cache-Control": cache_control_for(key), "ETag": info.etag}
    if _etag_matches(request.headers.get("if-none-match"), info.etag):
        return Response(status_code=304, headers=headers)
    path = storage.local_path(key)
    if path is not None:
        # Local files go out with sendfile, ranges and all, through Starlette.
        return FileResponse(path, media_type=content_type_for(key), headers=headers)
    return _object_response(request, key, info.size, headers, platform)


def _object_response(
    request: Request, key: str, size: int, headers: dict[str, str], platform: Platform
) -> Response:
    """An object from a remote store, whole or one range of it."""
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


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag.removeprefix("W/") in candidates
