"""``POST /api/qoe/events``: players report what the viewer lived through."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import ValidationError

from cineflux.telemetry import flows
from cineflux.telemetry import service as telemetry
from cineflux.telemetry.schemas import QoeAccepted, QoeBatchIn
from cineflux.web.deps import ApiUserDep, DbDep, PlatformDep
from cineflux.web.problems import Problem

router = APIRouter(prefix="/api/qoe", tags=["qoe"])
# A full batch of 100 events with CMCD data is under 40 KiB.
MAX_BATCH_BYTES = 64 * 1024
QOE_POLICY = telemetry.QoePolicy()


async def _bounded_body(request: Request) -> bytes:
    """The JSON body, refused with 413 past the limit without reading more than the limit."""
    # JSON only: a cross-site form cannot send it without CORS, so cookies cannot be abused.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise Problem(415, "JSON required", "send the batch as application/json")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
        raise Problem(413, "Batch too large", f"at most {MAX_BATCH_BYTES} bytes per batch")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BATCH_BYTES:
            raise Problem(413, "Batch too large", f"at most {MAX_BATCH_BYTES} bytes per batch")
    return bytes(body)


@router.post(
    "/events",
    status_code=202,
    response_model=QoeAccepted,
    operation_id="report_qoe_events",
    # The body is read by hand (to bound it before parsing), so it is declared here.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": QoeBatchIn.model_json_schema()}},
        }
    },
)
def report_events(
    request: Request,
    db: DbDep,
    platform: PlatformDep,
    user: ApiUserDep,
    # After the user: strangers get 401 before anything tells them about limits.
    body: Annotated[bytes, Depends(_bounded_body)],
) -> QoeAccepted:
    """A batch of one playback session's QoE events (startup, rebuffers, time played,
    bitrate switches, errors, CMCD), as the player sends it every few seconds.

    404 for a session that is not the caller's account's; 429 with ``Retry-After`` past
    the account's events per minute."""
    try:
        batch = QoeBatchIn.model_validate_json(body)
    except ValidationError as error:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()]
        raise Problem(422, "Invalid QoE batch", "the batch does not match", errors=errors) from None
    try:
        stored = flows.report_events(
            db,
            clock=platform.clock,
            policy=QOE_POLICY,
            user_id=user.id,
            user_agent=request.headers.get("user-agent"),
            batch=batch.to_batch(),
        )
    except telemetry.QoeRateLimited as error:
        raise HTTPException(
            429, str(error), headers={"Retry-After": str(error.retry_after)}
        ) from None
    except telemetry.InvalidQoeBatch as error:
        loc = ["events", error.index] if error.index is not None else ["events"]
        raise Problem(
            422, "Invalid QoE batch", str(error), errors=[{"loc": loc, "msg": str(error)}]
        ) from None
    return QoeAccepted(accepted=len(stored))
