"""The pages mounted on an app: templates, vendored static files, the routers, sessions."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from riskwatch.webapp import pages, signin
from riskwatch.webapp.auth import RefusedError, Sessions, Signer, account
from riskwatch.webapp.models import RunLock
from riskwatch.webapp.render import PREFIX, make_templates
from riskwatch.webapp.routes import router
from riskwatch.webapp.sources import Sources

STATIC = Path(__file__).resolve().parent / "static"


def add_webapp(app: FastAPI, sources: Sources, *, run_lock: RunLock) -> None:
    """Serve the pages under /app/ and their vendored files (htmx, uPlot) under /app/static/;
    run_lock: the workspace's run lock, held while a page deploys or rolls back."""
    app.state.webapp = sources
    app.state.webapp_templates = make_templates()
    app.state.webapp_templates.env.globals["account"] = account
    app.state.webapp_signer = signer = Signer(sources.settings)
    app.state.webapp_run_lock = run_lock
    # No CDN and no external font: every file a page loads comes from here.
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="webapp-static")
    app.include_router(signin.router, prefix=PREFIX, include_in_schema=False)
    guarded = [Depends(signin.reader)]  # every page, when reads need sign-in
    app.include_router(pages.router, prefix=PREFIX, include_in_schema=False)
    app.include_router(router, prefix=PREFIX, include_in_schema=False, dependencies=guarded)
    app.add_middleware(Sessions, signer=signer)
    app.add_exception_handler(RefusedError, signin.refused)
