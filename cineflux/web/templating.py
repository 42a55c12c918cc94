"""Jinja2 templates of the web app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))


def format_duration(seconds: float) -> str:
    """A running time as viewers read it: "1 h 05 min", "12 min", "0:20"."""
    total = round(seconds)
    if total >= 3600:
        return f"{total // 3600} h {total % 3600 // 60:02d} min"
    if total >= 600:
        return f"{total // 60} min"
    return f"{total // 60}:{total % 60:02d}"


templates.env.filters["duration"] = format_duration


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render a page; pages are personal, so never cached by shared caches."""
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response
