"""Pages and partials rendered from templates, with what every page needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from riskwatch import __version__

TEMPLATES = Path(__file__).resolve().parent / "templates"
PREFIX = "/app"

# The navigation: (key, label, path under /app).
PAGES = [
    ("overview", "Overview", "/"),
    ("calllist", "Call list", "/calllist"),
    ("models", "Models", "/models"),
    ("cycles", "Cycles", "/cycles"),
    ("data", "Data", "/data"),
]


def make_templates() -> Jinja2Templates:
    """The pages' templates, with the filters they use."""
    templates = Jinja2Templates(directory=TEMPLATES)
    templates.env.filters["when"] = when
    return templates


def when(stamp: str | None) -> str:
    """A stored UTC time (ISO 8601) as a reader sees it: 2026-11-30 02:44 UTC."""
    if not stamp:
        return "never"
    return f"{stamp[:10]} {stamp[11:16]} UTC"


def is_partial(request: Request) -> bool:
    """htmx asked for the swapped region only (not a history restore, which needs the page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def context_root(request: Request) -> str:
    """The pages' own root as the browser sees it (behind a proxy's root path too): /app."""
    return str(request.scope.get("root_path", "")).rstrip("/") + PREFIX


def page(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200
) -> Response:
    """A template rendered with the navigation, the app's root and the version."""
    templates: Jinja2Templates = request.app.state.webapp_templates
    shared = {"pages": PAGES, "root": context_root(request), "version": __version__}
    response = templates.TemplateResponse(request, template, shared | context, status_code=status)
    # One URL answers a page or a partial: caches must keep them apart.
    response.headers["Vary"] = "HX-Request"
    return response
