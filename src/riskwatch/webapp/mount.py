"""The pages mounted on an app: templates, vendored static files, the routers, sessions."""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from riskwatch.webapp import contacts, pages, signin
from riskwatch.webapp.auth import RefusedError, Sessions, Signer, account
from riskwatch.webapp.calllist import OUTCOME_CHOICES
from riskwatch.webapp.derived import Derived
from riskwatch.webapp.models import RunLock
from riskwatch.webapp.render import PREFIX, make_templates, page
from riskwatch.webapp.routes import router
from riskwatch.webapp.sources import Sources

STATIC = Path(__file__).resolve().parent / "static"


def add_webapp(app: FastAPI, sources: Sources, *, run_lock: RunLock) -> None:
    """Serve the pages under /app/ and their vendored files (htmx, uPlot) under /app/static/;
    run_lock: the workspace's run lock, held while a page deploys or rolls back."""
    app.state.webapp = sources
    app.state.webapp_derived = Derived()  # what pages derive from the master dataset
    app.state.webapp_templates = make_templates()
    app.state.webapp_templates.env.globals["account"] = account
    app.state.webapp_templates.env.globals["outcomes"] = OUTCOME_CHOICES
    app.state.webapp_signer = signer = Signer(sources.settings)
    app.state.webapp_run_lock = run_lock
    # No CDN and no external font: every file a page loads comes from here.
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="webapp-static")
    app.include_router(signin.router, prefix=PREFIX, include_in_schema=False)
    guarded = [Depends(signin.reader)]  # every page, when reads need sign-in
    app.include_router(pages.router, prefix=PREFIX, include_in_schema=False)
    app.include_router(router, prefix=PREFIX, include_in_schema=False, dependencies=guarded)
    app.include_router(
        contacts.router, prefix=PREFIX, include_in_schema=False, dependencies=guarded
    )
    app.add_middleware(Sessions, signer=signer)
    app.add_exception_handler(RefusedError, signin.refused)
    # Last, so it matches only what no page does: a reader gets a page, not a JSON error.
    app.add_api_route(f"{PREFIX}/{{rest:path}}", no_such_page, include_in_schema=False)


def no_such_page(request: Request, rest: str) -> Response:
    """The "Not found" page for an address under /app/ that no page answers."""
    message = f"There is no page at {request.url.path}."
    return page(request, "not_found.html", {"message": message}, status=404)
