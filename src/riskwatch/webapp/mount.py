"""The pages mounted on an app: templates, vendored static files, the router."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from riskwatch.webapp.render import PREFIX, make_templates, page
from riskwatch.webapp.routes import router
from riskwatch.webapp.sources import Sources

STATIC = Path(__file__).resolve().parent / "static"


def add_webapp(app: FastAPI, sources: Sources) -> None:
    """Serve the pages under /app/ and their vendored files (htmx, uPlot) under /app/static/."""
    app.state.webapp = sources
    app.state.webapp_templates = make_templates()
    # No CDN and no external font: every file a page loads comes from here.
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="webapp-static")
    app.include_router(router, prefix=PREFIX, include_in_schema=False)
    # Last, so it matches only what no page does: a reader gets a page, not a JSON error.
    app.add_api_route(f"{PREFIX}/{{rest:path}}", no_such_page, include_in_schema=False)


def no_such_page(request: Request, rest: str) -> Response:
    """The "Not found" page for an address under /app/ that no page answers."""
    message = f"There is no page at {request.url.path}."
    return page(request, "not_found.html", {"message": message}, status=404)
