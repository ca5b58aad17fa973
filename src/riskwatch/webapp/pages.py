"""The handlers of the overview, models, cycles, data and report pages: each reads its query,
builds view data with one function, and renders a template."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from riskwatch.errors import RiskwatchError
from riskwatch.webapp.auth import check_post, read_form
from riskwatch.webapp.data import data_view
from riskwatch.webapp.estimates import ledger_lines
from riskwatch.webapp.ledger import cycle_views
from riskwatch.webapp.models import (
    Action,
    RunLock,
    asked_action,
    carry_out,
    done_message,
    metric_of,
    models_view,
)
from riskwatch.webapp.overview import overview_view
from riskwatch.webapp.render import page
from riskwatch.webapp.reports import POLICY, SERVED, report_file
from riskwatch.webapp.signin import reader
from riskwatch.webapp.sources import Sources, sources_of

router = APIRouter(dependencies=[Depends(reader)])
SourcesDep = Annotated[Sources, Depends(sources_of)]
LEDGER = 200  # cycles the ledger lists


@router.get("/")
def overview(request: Request, sources: SourcesDep) -> Response:
    """The system's state at a glance."""
    view = overview_view(sources, request.app.state.webapp_derived)
    return page(request, "overview.html", {"nav": "overview", **view})


@router.get("/models")
def models_page(request: Request, sources: SourcesDep) -> Response:
    """The saved versions, production, a metric across versions; deploy and roll back."""
    metric = metric_of(request.query_params.get("metric"), sources.settings)
    done = done_message(request.query_params.get("done"), request.query_params.get("version"))
    context = {"nav": "models", "done": done}
    return page(request, "models.html", context | models_view(sources, metric))


@router.get("/models/{kind}")
def confirm(request: Request, kind: str, sources: SourcesDep) -> Response:
    """Ask before a deploy or a rollback: what production holds, what it would hold."""
    action = asked_action(kind, request.query_params.get("version"), sources)
    if action is None:
        return _no_such_action(request)
    context = {"nav": "models", "action": action, "error": ""}
    return page(request, "confirm.html", context)


@router.post("/models/{kind}")
async def act(request: Request, kind: str, sources: SourcesDep) -> Response:
    """Deploy or roll back, once confirmed by this session's signed-in form."""
    form = await read_form(request)
    check_post(request, form)
    action = asked_action(kind, form.get("version") or None, sources)
    if action is None:
        return _no_such_action(request)
    lock: RunLock = request.app.state.webapp_run_lock
    try:
        result = await run_in_threadpool(carry_out, action, sources, lock)
    except RiskwatchError as exc:
        return _refused(request, action, str(exc))
    done = action.kind if result.changed else "unchanged"
    query = urlencode({"done": done, "version": result.deployed.version})
    return RedirectResponse(f"{request.url_for('models_page').path}?{query}", status_code=303)


def _refused(request: Request, action: Action, why: str) -> Response:
    context = {"nav": "models", "action": action, "error": why}
    return page(request, "confirm.html", context, status=409)


def _no_such_action(request: Request) -> Response:
    message = "There is no such deploy or rollback to do: go back to the models page."
    return page(request, "not_found.html", {"message": message}, status=404)


@router.get("/cycles")
def cycles_page(request: Request, sources: SourcesDep) -> Response:
    """The run ledger: every cycle, its steps, decisions, evidence, durations and report."""
    found = cycle_views(sources.store(), sources.settings.reports_path, limit=LEDGER)
    beside = {cycle.id: ledger_lines(cycle.evaluation) for cycle in found}
    context = {"nav": "cycles", "cycles": found, "shown": LEDGER, "beside": beside}
    return page(request, "cycles.html", context)


@router.get("/reports/{folder}/{name}")
def report(request: Request, folder: str, name: str, sources: SourcesDep) -> Response:
    """A kept report, read-only, as it was written."""
    path = report_file(sources.settings.reports_path, folder, name)
    if path is None:
        message = f"No report {folder}/{name} in this workspace."
        return page(request, "not_found.html", {"message": message}, status=404)
    headers = {"Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=SERVED[name], headers=headers)


@router.get("/data")
def data_page(request: Request, sources: SourcesDep) -> Response:
    """Batches ingested, rows added, rows quarantined with the reasons."""
    return page(request, "data.html", {"nav": "data", **data_view(sources)})
