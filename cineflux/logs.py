"""Logging: one line per event, JSON in production, with the request id; never a secret."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from fastapi import Request, Response

from cineflux.edge.tokens import loggable_path

HEARTBEAT_PATH = "/api/cdn/heartbeat"
logger = logging.getLogger("cineflux.http")

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """A JSON object per line: time, level, logger, message, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Send every logger's records to stderr in the chosen format."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


async def log_requests(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Give each request an id (``X-Request-ID``) and log one line when it ends.

    Only the path is logged, never the query string, and signed paths lose their token:
    tokens are credentials.
    """
    request_id = uuid.uuid4().hex[:16]
    request.state.request_id = request_id
    started = time.perf_counter()
    response = await call_next(request)
    response.headers["X-Request-ID"] = request_id
    # Heartbeats arrive every few seconds from every edge: only their failures are news.
    routine = request.url.path == HEARTBEAT_PATH and response.status_code < 400
    logger.log(
        logging.DEBUG if routine else logging.INFO,
        "%s %s %s",
        request.method,
        loggable_path(request.url.path),
        response.status_code,
        extra={
            "request_id": request_id,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
    return response
