"""Assembles the FastAPI application from the domain routers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from cineflux import __version__
from cineflux.accounts.api import router as accounts_router
from cineflux.accounts.pages import router as account_pages_router
from cineflux.billing.api import router as billing_router
from cineflux.billing.pages import router as billing_pages_router
from cineflux.catalog.api import router as catalog_router
from cineflux.db import schema_is_current
from cineflux.delivery.api import cdn_router
from cineflux.delivery.api import router as delivery_router
from cineflux.logs import RequestLog
from cineflux.media.api import router as media_router
from cineflux.platform import Platform
from cineflux.playback.api import router as playback_router
from cineflux.playback.licence_api import router as licence_router
from cineflux.playback.manifest_api import router as playback_manifest_router
from cineflux.profiles.api import router as profiles_router
from cineflux.profiles.pages import router as profile_pages_router
from cineflux.telemetry.api import router as qoe_router
from cineflux.web.assets import VersionedStaticFiles
from cineflux.web.csp import content_security_policy
from cineflux.web.pages import router as pages_router
from cineflux.web.problems import install_problem_handlers
from cineflux.web.templating import ASSETS, WEB_DIR

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": content_security_policy(),
}
# Swagger UI loads its own inline script and CDN assets.
NO_CSP_PATHS = frozenset({"/api/docs"})


class SecurityHeaders:
    """ASGI middleware: the security headers on every response that does not set its own
    (plain ASGI, as ``logs.RequestLog``, for the same measured reason)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        defaults = SECURITY_HEADERS.items()
        if scope["path"] in NO_CSP_PATHS:
            defaults = {k: v for k, v in defaults if k != "Content-Security-Policy"}.items()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in defaults:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(platform: Platform) -> FastAPI:
    """The web application: subscriber pages, JSON API, media, health probes."""
    app = FastAPI(
        title="Cineflux",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.platform = platform
    install_problem_handlers(app)
    app.add_middleware(RequestLog)
    app.add_middleware(SecurityHeaders)
    if platform.settings.trusted_proxy_list:
        # Outermost: every later layer (logs, steering, GeoIP, throttling) sees the viewer.
        app.add_middleware(
            ProxyHeadersMiddleware, trusted_hosts=platform.settings.trusted_proxy_list
        )

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz() -> Response:
        """The database answers and its schema is current; Redis answers when configured."""
        checks: dict[str, str] = {}
        try:
            with platform.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            checks["database"] = "ok" if schema_is_current(platform.engine) else "schema behind"
        except Exception as error:  # readiness reports any failure, it never raises
            checks["database"] = f"error: {type(error).__name__}"
        if platform.settings.redis_url:
            checks["redis"] = _check_redis(platform.settings.redis_url)
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ok" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
            headers={"Cache-Control": "no-store"},
        )

    app.mount(
        "/static",
        VersionedStaticFiles(directory=WEB_DIR / "static", versions=ASSETS),
        name="static",
    )
    # The player's calls first: routing tries routes in order (matching cost 7% of a play's
    # CPU when these came last), and plays, heartbeats, licences and QoE batches are the
    # most frequent requests. No other router's paths overlap theirs.
    app.include_router(playback_router)
    app.include_router(playback_manifest_router)
    app.include_router(licence_router)
    app.include_router(qoe_router)
    app.include_router(delivery_router)
    app.include_router(pages_router)
    app.include_router(catalog_router)
    app.include_router(accounts_router)
    app.include_router(account_pages_router)
    app.include_router(cdn_router)
    app.include_router(media_router)
    app.include_router(billing_router)
    app.include_router(billing_pages_router)
    app.include_router(profiles_router)
    app.include_router(profile_pages_router)
    return app


def _check_redis(url: str) -> str:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            return "ok" if client.ping() else "no answer"
        finally:
            client.close()
    except redis.RedisError as error:
        return f"error: {type(error).__name__}"
