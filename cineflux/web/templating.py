"""Jinja2 templates of the web app."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cineflux.rights.chronology import paris_date
from cineflux.web.assets import AssetVersions

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
# The app's own files, named by versioned URLs (web/assets.py): {{ static_url("app.css") }}.
ASSETS = AssetVersions(WEB_DIR / "static")


def format_duration(seconds: float) -> str:
    """A running time as viewers read it: "1 h 05 min", "12 min", "0:20"."""
    total = round(seconds)
    if total >= 3600:
        return f"{total // 3600} h {total % 3600 // 60:02d} min"
    if total >= 600:
        return f"{total // 60} min"
    return f"{total // 60}:{total % 60:02d}"


def paris_day(instant: datetime | None) -> str:
    """The calendar day in Paris of an instant, as 27/11/2026 (French order)."""
    if instant is None:
        return ""
    return paris_date(instant).strftime("%d/%m/%Y")


templates.env.filters["duration"] = format_duration
templates.env.filters["paris_day"] = paris_day
templates.env.globals["static_url"] = ASSETS.url


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render a page; pages are personal, so never cached by shared caches."""
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response
