"""Endpoints for predictions, the call list and the service's own state; each one is thin."""

from __future__ import annotations

import os
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from riskwatch import __version__
from riskwatch.api.deps import ServedDep, SettingsDep, StoreDep, resources, served_model
from riskwatch.api.inputs import (
    RequestError,
    parse_csv,
    parse_json,
    read_body,
    read_dataset,
)
from riskwatch.api.predict import predictions
from riskwatch.api.schemas import (
    PROBLEMS,
    CallListResponse,
    Client,
    Health,
    PredictionResponse,
    Ready,
    VersionInfo,
)
from riskwatch.api.served import NotReadyError, Served
from riskwatch.api.telemetry import CONTENT_TYPE
from riskwatch.calllist.build import build_call_list
from riskwatch.config import Settings
from riskwatch.storage.store import deployments

public = APIRouter()
router = APIRouter()
CSV_TYPES = ("text/csv", "application/csv")
INLINE_BYTES = 64 * 1024  # larger requests are answered off the event loop


@public.get("/health", response_model=Health)
async def health() -> dict[str, str]:
    """The process is alive (needs no token)."""
    return {"status": "ok"}


# First of the router's routes: a request is matched against them in order, and this is the
# one asked most.
@router.post(
    "/prediction",
    response_model=PredictionResponse,
    responses=PROBLEMS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/PredictionRequest"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
async def prediction(
    request: Request,
    reasons: Annotated[bool, Query(description="explain each client's risk in words")] = True,
) -> Response:
    """Risk, label, band and reasons per client: JSON clients, a CSV body or a workspace file."""
    # The model and the settings are taken here, not declared as dependencies: FastAPI solves
    # each dependency on every request, and two cost a tenth of a one-client prediction.
    settings = resources(request).settings
    served = await served_model(request)
    body = await read_body(request, settings.api_max_body_bytes)
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind not in (*CSV_TYPES, "application/json") and not kind.endswith("+json"):
        raise RequestError(
            415, f"send application/json or text/csv, not {kind or 'no content type'}"
        )
    if len(body) <= INLINE_BYTES:
        document, risks = _predict(served, settings, body, kind, reasons)
    else:
        document, risks = await run_in_threadpool(_predict, served, settings, body, kind, reasons)
    request.app.state.telemetry.observe_risks(risks)
    return Response(document, media_type="application/json")


def _predict(
    served: Served, settings: Settings, body: bytes, kind: str, reasons: bool
) -> tuple[bytes, list[float]]:
    """The answer document (as JSONResponse would render it) and each client's risk."""
    dataset = None
    frame: pd.DataFrame | list[Client]
    if kind in CSV_TYPES:
        frame = parse_csv(body)
    else:
        document = parse_json(body)
        named = document.data_file()
        dataset = named[1] if named else None
        # Clients sent inline are predicted as parsed: a DataFrame's fixed cost is not paid.
        frame = read_dataset(settings, named[1], named[0]) if named else document.clients or []
    if len(frame) == 0:
        raise RequestError(422, "no clients to predict: the data has no rows")
    if len(frame) > settings.api_max_clients:
        raise RequestError(
            413,
            f"{len(frame):,} clients is over the limit of {settings.api_max_clients:,} "
            "a request (setting api_max_clients)",
        )
    head = {
        "version": served.deployed.version,
        "threshold": settings.decision_threshold,
        "dataset": dataset,
    }
    found = predictions(served, frame, settings, reasons=reasons)
    return found.document(head), found.probabilities


@router.get("/ready", response_model=Ready, responses=PROBLEMS)
def ready(
    request: Request, served: ServedDep, settings: SettingsDep, store: StoreDep
) -> dict[str, str | None]:
    """A model is loaded and answering, and the workspace and its database are readable;
    a warning when the deployed model cannot be loaded and the previous one still answers."""
    for path in (settings.output_folder_path, settings.test_data_path):
        if not os.access(path, os.R_OK):
            raise NotReadyError(f"{path} is not readable")
    store.rows(deployments, newest_first=True, limit=1)  # the database answers
    version = served.deployed.version
    failed = resources(request).models.failure()
    if failed is None:
        return {"status": "ready", "version": version, "deployed_version": version}
    # Still 200: the last good model answers, and a 503 on every replica would turn one
    # bad deployment into an outage.
    deployed = failed.version or "unknown"
    warning = (
        f"the deployed model {deployed} cannot be loaded ({failed.error}); model {version} "
        f"answers instead; next try in {failed.retry_in():.0f} s"
    )
    return {"status": "ready", "version": version, "deployed_version": deployed, "warning": warning}


@router.get("/version", response_model=VersionInfo, responses=PROBLEMS)
def version(request: Request) -> dict[str, str | None]:
    """The riskwatch version and the version of the model being served."""
    try:
        model_version: str | None = resources(request).models.current().deployed.version
    except NotReadyError:
        model_version = None
    return {"riskwatch": __version__, "model_version": model_version}


# Not in the OpenAPI schema: it is for Prometheus, and its text format is its own.
@router.get("/metrics", response_class=Response, include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics: requests and latency per endpoint and status, predicted risk, the
    model served, the last cycle and drift per feature (summed over `--workers N`)."""
    body = request.app.state.telemetry.exposition()
    return Response(body, media_type=CONTENT_TYPE)


@router.get("/calllist", response_model=CallListResponse, responses=PROBLEMS)
def calllist(
    served: ServedDep,
    settings: SettingsDep,
    store: StoreDep,
    top: Annotated[int | None, Query(ge=1, le=100_000, description="clients listed")] = None,
) -> dict[str, Any]:
    """The call list now: each current client's risk, band, reasons, and the change since the
    list last published to the managers. A look only: nothing is published or written."""
    model = (served.deployed, served.model, served.reference)  # loaded once, not per request
    return build_call_list(settings, store, top, served=model).to_dict()
