"""Serving published media: Range, HEAD, ETag and caching headers, for signed-in users."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from cineflux.delivery.service import MEDIA_ROUTE, cache_control_for, content_type_for
from cineflux.web.deps import ApiUserDep, PlatformDep
from cineflux.web.problems import Problem

router = APIRouter(tags=["delivery"])


@router.get(f"{MEDIA_ROUTE}/{{key:path}}", operation_id="get_media")
@router.head(f"{MEDIA_ROUTE}/{{key:path}}", operation_id="head_media")
def serve_media(key: str, request: Request, platform: PlatformDep, _user: ApiUserDep) -> Response:
    """A stored file (manifest, segment, poster), with byte ranges and conditional requests."""
    path = platform.storage.local_path(key)
    if path is None:
        raise Problem(404, "Not found", "no such media file")
    stat = path.stat()
    # Published files never change in place, so size and mtime identify a version.
    etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
    headers = {"Cache-Control": cache_control_for(key), "ETag": etag}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=content_type_for(key), headers=headers, stat_result=stat)


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag.removeprefix("W/") in candidates
