"""Prometheus metrics of the API: requests, their latency and the predicted risk, per worker.

Under `serve --workers N` each worker writes its counts to files in PROMETHEUS_MULTIPROC_DIR
(set by the supervisor before any worker starts: prometheus_client picks its storage when it
is imported) and a scrape sums every worker's files in a fresh registry, whichever worker
answers it. The values read from riskwatch's records come from one collector at scrape time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from fastapi.routing import iter_route_contexts
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
REQUEST_LABELS = ("endpoint", "method", "status")
UNMATCHED = "unmatched"  # no route: one label value for every unknown path (bounded cardinality)
# Any token is a method to HTTP: the others are counted as one, as unknown paths are.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
RISK_BUCKETS = tuple(round(0.1 * step, 1) for step in range(1, 11))
# Up to this many risks a request, each is observed: the bulk count's fixed cost is more.
FEW_RISKS = 8
# Most answers take milliseconds; a refreshed /diagnostics or a large batch takes seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Telemetry:
    """The API's own metrics, and how a scrape reads them with the records' collector."""

    def __init__(self, records: Collector) -> None:
        self.multiprocess = bool(os.environ.get(MULTIPROC_ENV))
        self.records = records
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "riskwatch_http_requests",
            "HTTP requests answered, by route template, method and status.",
            REQUEST_LABELS,
            registry=self.registry,
        )
        self.duration = Histogram(
            "riskwatch_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, in seconds.",
            REQUEST_LABELS,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.risk = Histogram(
            "riskwatch_predicted_risk",
            "Probability of leaving of each client POST /prediction answered.",
            buckets=RISK_BUCKETS,
            registry=self.registry,
        )
        started = Gauge(
            "riskwatch_worker_start_time_seconds",
            "When each live worker process started (Unix time; pid label under --workers N).",
            registry=self.registry,
            multiprocess_mode="liveall",  # a dead worker's file is removed by the supervisor
        )
        started.set(time.time())
        if not self.multiprocess:
            self.registry.register(records)

    def observe_risks(self, risks: Sequence[float]) -> None:
        """Count each answered client's probability in the risk histogram."""
        if len(risks) <= FEW_RISKS:
            for risk in risks:
                self.risk.observe(risk)
            return
        # One increment per bucket, not per client (10,000 observe() calls cost 40-80 ms):
        # Histogram has no bulk observe, so its per-bucket counts are added to as observe()
        # adds to them (the first bound at or above the value: bisect_left's, searchsorted's).
        histogram: Any = self.risk
        bounds = histogram._upper_bounds
        found = np.searchsorted(bounds, np.asarray(risks, dtype="float64"), side="left")
        tally = np.bincount(found, minlength=len(bounds)).tolist()
        for bucket, count in zip(histogram._buckets, tally, strict=True):
            if count:
                bucket.inc(count)
        histogram._sum.inc(sum(risks))

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format, summed over every worker's files if several."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        # As prometheus_client asks: a fresh registry per scrape, never the one metrics live in.
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self.records)
        return generate_latest(registry)


class RouteTemplates:
    """The route template a request matched ("/app/models/{kind}"), never its raw path."""

    def __init__(self) -> None:
        self._full: dict[int, str] | None = None

    def of(self, scope: Scope) -> str:
        """The template of the route that answered; UNMATCHED when none did."""
        # FastAPI's routes put themselves in the scope; a mount or a plain route, its endpoint.
        route = scope.get("route") or scope.get("endpoint")
        if route is None:
            return UNMATCHED
        if self._full is None:  # the app's routes are complete by its first request
            self._full = _full_templates(scope["app"].routes)
        return self._full.get(id(route)) or getattr(route, "path", None) or UNMATCHED


def _full_templates(routes: list[BaseRoute]) -> dict[int, str]:
    """Each route's whole template by the route and by its endpoint: a route of an included
    router knows only its own part of the path."""
    found: dict[int, str] = {}
    for context in iter_route_contexts(routes):
        template, route = context.path_format, context.original_route
        if template:
            found.setdefault(id(route), template)
            endpoint = getattr(route, "endpoint", None) or getattr(route, "app", None)
            found.setdefault(id(endpoint), template)
    return found


class RequestMetrics:
    """Counts each HTTP request and its latency by route template, method and status."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry
        self.templates = RouteTemplates()
        # labels() costs microseconds a call: each label set's two children, found once.
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # an exception with no answer: the server answers 500

        async def noted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            took = time.perf_counter() - start
            method = scope["method"] if scope["method"] in METHODS else "other"
            labels = (self.templates.of(scope), method, str(status))
            children = self._children.get(labels)
            if children is None:
                telemetry = self.telemetry
                children = (telemetry.requests.labels(*labels), telemetry.duration.labels(*labels))
                self._children[labels] = children
            children[0].inc()
            children[1].observe(took)
