"""The FastAPI application, built from explicit settings."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import pandas as pd
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskwatch import __version__
from riskwatch.api import contacts, records, routes
from riskwatch.api.deps import Resources, require_token
from riskwatch.api.docs import add_docs
from riskwatch.api.inputs import RequestError, field_name
from riskwatch.api.predict import predict_clients
from riskwatch.api.recorded import RecordsCollector
from riskwatch.api.schemas import PredictionRequest
from riskwatch.api.served import NotReadyError
from riskwatch.api.telemetry import RequestMetrics, Telemetry
from riskwatch.config import Settings, load_settings
from riskwatch.errors import RiskwatchError
from riskwatch.scheduler import run_lock
from riskwatch.webapp import Sources, add_webapp

log = logging.getLogger(__name__)
CONFIG_ENV = "RISKWATCH_CONFIG"  # how `serve --workers N` tells each worker its config file


def create_app(settings: Settings) -> FastAPI:
    """The riskwatch API over the workspace the settings describe."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.resources.close()

    app = FastAPI(
        title="riskwatch",
        version=__version__,
        description="Client-attrition risk: predictions, metrics, diagnostics and the call list.",
        lifespan=lifespan,
        docs_url=None,  # served from the package by add_docs, not from a CDN
        redoc_url=None,  # ReDoc loads from a CDN too, and /docs covers it
    )
    app.state.resources = Resources(settings)
    app.include_router(routes.public)
    # Without a token set there is nothing to check: FastAPI would still solve the check and
    # its header parsing on every request, a sixth of a one-client prediction's time.
    protected: Any = [Depends(require_token)] if settings.api_token else []
    app.include_router(routes.router, dependencies=protected)
    app.include_router(records.router, dependencies=protected)
    app.include_router(contacts.router, dependencies=protected)
    add_docs(app)  # after the API's routes: requests are matched against routes in order
    _add_pages(app, app.state.resources)
    app.add_middleware(ServerTiming)
    # Outermost: a request's count and latency include everything the app does for it.
    app.state.telemetry = Telemetry(RecordsCollector(app.state.resources))
    app.add_middleware(RequestMetrics, telemetry=app.state.telemetry)
    app.add_exception_handler(RequestError, _bad_input)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _bad_parameters)
    app.add_exception_handler(NotReadyError, _unavailable)
    app.add_exception_handler(RiskwatchError, _unavailable)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _add_pages(app: FastAPI, resources: Resources) -> None:
    """The managers' web app under /app/ (the root redirects there), on the API's own model
    and database."""
    settings = resources.settings

    def score(frame: pd.DataFrame) -> dict[str, Any]:
        served = resources.models.current()  # the held model: loaded once, not per page
        clients = predict_clients(served, frame, settings)
        return {"version": served.deployed.version, "clients": clients}

    add_webapp(app, Sources(settings, resources.store, score), run_lock=run_lock)

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> RedirectResponse:
        root_path = str(request.scope.get("root_path", "")).rstrip("/")
        return RedirectResponse(f"{root_path}/app/", status_code=307)


def app_from_environment() -> FastAPI:
    """The app for a uvicorn worker process: settings from the file RISKWATCH_CONFIG names."""
    return create_app(load_settings(Path(os.environ[CONFIG_ENV])))


class ServerTiming:
    """Adds Server-Timing: app;dur=<ms>, the time from request to answer inside the server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - start) * 1000
                headers = [
                    *message.get("headers", []),
                    (b"server-timing", f"app;dur={took:.3f}".encode()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed)


def problem(
    status: int,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An error answer: always detail and errors (one entry, no field, when nothing more)."""
    listed = errors if errors is not None else [{"field": None, "message": detail}]
    return JSONResponse({"detail": detail, "errors": listed}, status_code=status, headers=headers)


async def _bad_input(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(RequestError, exc)  # registered for RequestError only
    return problem(exc.status, exc.detail, exc.errors)


async def _http_error(request: Request, exc: Exception) -> Response:
    # 401, 404 (no such endpoint), 405...: the same document as every other error.
    exc = cast(StarletteHTTPException, exc)  # registered for HTTPException only
    if exc.status_code < 400:  # pragma: no cover - not raised by riskwatch
        return Response(status_code=exc.status_code, headers=exc.headers)
    return problem(exc.status_code, str(exc.detail), headers=exc.headers)


async def _bad_parameters(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(RequestValidationError, exc)  # registered for RequestValidationError only
    errors = [{"field": field_name(tuple(e["loc"][1:])), "message": e["msg"]} for e in exc.errors()]
    shown = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem(422, shown, errors)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    # The workspace cannot answer yet (nothing deployed, no data): say why, as 503.
    return problem(503, str(exc))


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated schema, plus the request document /prediction reads by hand."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        request = PredictionRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(request.pop("$defs", {}))
        components["PredictionRequest"] = request
        app.openapi_schema = schema
    return app.openapi_schema
