"""The pages mounted on an app: templates, vendored static files, the router."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from riskwatch.webapp.render import PREFIX, make_templates
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
