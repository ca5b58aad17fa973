"""The API's client: call every endpoint with the workspace's own data and keep what came back
(the classic apireturns.txt, and apireturns.json)."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2

from riskwatch.config import Settings
from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.datasets import data_files, read_labelled
from riskwatch.schema import TARGET
from riskwatch.storage.clock import utcnow
from riskwatch.storage.files import read_json, write_json_atomic, write_text_atomic

API_RETURNS_TEXT = "apireturns.txt"
API_RETURNS_JSON = "apireturns.json"
SAMPLE_CLIENTS = 100  # holdout clients sent in the JSON prediction call
CALL_LIST_TOP = 10


class ApiCallError(RiskwatchError):
    """The API cannot be called as configured."""


@dataclass(frozen=True)
class Call:
    """One request and what came back."""

    method: str
    path: str
    status: int | None
    seconds: float
    response: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """The endpoint answered with a 2xx."""
        return self.error is None


@dataclass(frozen=True)
class ApiReturns:
    """Every call of one run, with where they were written."""

    url: str
    called_at: str
    calls: list[Call] = field(default_factory=list)
    paths: tuple[str, str] = ("", "")
    written: bool = False  # False when a call failed: the files keep the last good run

    @property
    def failed(self) -> list[Call]:
        """The calls that did not succeed."""
        return [call for call in self.calls if not call.ok]

    def failure(self) -> str | None:
        """What went wrong, naming the first endpoint that failed; None when all succeeded."""
        if not self.failed:
            return None
        first, others = self.failed[0], len(self.failed) - 1
        more = f"; {others} more call(s) failed or were not made" if others else ""
        return f"{first.method} {self.url}{first.path} failed: {first.error}{more}"

    def to_dict(self) -> dict[str, Any]:
        """The run as JSON-ready values."""
        calls = [asdict(call) | {"ok": call.ok} for call in self.calls]
        ok = not self.failed
        return {"url": self.url, "called_at": self.called_at, "ok": ok, "calls": calls}

    def summary(self) -> str:
        """One line per call."""
        lines = [f"API at {self.url}, {self.called_at}:"]
        for call in self.calls:
            status = call.status if call.status is not None else "---"
            took = f"{call.seconds * 1000:8.1f} ms"
            ending = f"  {call.error}" if call.error else ""
            lines.append(f"  {status}  {call.method:<4} {call.path:<24} {took}{ending}")
        if self.written:
            lines.append(f"Written to {self.paths[0]} and {self.paths[1]}")
        else:
            lines.append(f"Not written: {self.paths[0]} and {self.paths[1]} keep {self._kept()}")
        return "\n".join(lines)

    def _kept(self) -> str:
        """What the files hold instead: the last good run, or nothing yet."""
        document = read_json(Path(self.paths[1])) if self.paths[1] else None
        if isinstance(document, dict) and document.get("called_at"):
            return f"the last good run's answers (from {document['called_at']})"
        return "nothing yet (no run has succeeded)"


def planned_calls(settings: Settings) -> list[tuple[str, str, dict[str, Any]]]:
    """Every endpoint, with real clients from the holdout for the predictions."""
    holdout = read_labelled(settings.test_data_path, require_target=False)
    clients = holdout.drop(columns=[TARGET], errors="ignore").head(SAMPLE_CLIENTS)
    dataset = data_files(settings.test_data_path)[0].name  # the classic {"dataset": ...} form
    return [
        ("GET", "/health", {}),
        ("GET", "/ready", {}),
        ("GET", "/version", {}),
        ("POST", "/prediction", {"json": {"clients": clients.to_dict(orient="records")}}),
        ("POST", "/prediction", {"json": {"dataset": dataset}, "params": {"reasons": False}}),
        ("GET", "/scoring", {}),
        ("GET", "/summarystats", {}),
        ("GET", "/diagnostics", {}),
        ("GET", "/calllist", {"params": {"top": CALL_LIST_TOP}}),
    ]


def call_api(settings: Settings, url: str | None = None) -> ApiReturns:
    """Call every endpoint of the API at url; write apireturns.txt/.json; see .failure()."""
    base = (url or settings.api_url).rstrip("/")
    if urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).hostname:
        raise ApiCallError(f"not an http(s) address: {base!r} (option --url or setting api_url)")
    planned = planned_calls(settings)
    headers = {"Authorization": f"Bearer {settings.api_token}"} if settings.api_token else {}
    calls: list[Call] = []
    called_at = utcnow()
    with httpx2.Client(base_url=base, timeout=settings.api_timeout, headers=headers) as client:
        for method, path, options in planned:
            call = _call(client, method, path, options)
            calls.append(call)
            if call.status is None:  # no answer at all: the others would wait in vain too
                calls += [
                    Call(m, p, None, 0.0, error="not called") for m, p, _ in planned[len(calls) :]
                ]
                break
    returns = ApiReturns(base, called_at, calls)
    folder = settings.reports_path
    paths = (str(folder / API_RETURNS_TEXT), str(folder / API_RETURNS_JSON))
    if returns.failed:  # a failed run must not replace the last good record
        return dataclasses.replace(returns, paths=paths)
    _write(settings, returns)
    return dataclasses.replace(returns, paths=paths, written=True)


def _call(client: httpx2.Client, method: str, path: str, options: dict[str, Any]) -> Call:
    start = time.perf_counter()
    try:
        answer = client.request(method, path, **options)
    except httpx2.TimeoutException:
        took = time.perf_counter() - start
        return Call(method, path, None, took, error=f"no answer within {took:.1f} s (timeout)")
    except httpx2.TransportError as exc:
        took = time.perf_counter() - start
        return Call(method, path, None, took, error=f"cannot connect: {exc or type(exc).__name__}")
    took = time.perf_counter() - start
    try:
        body: Any = answer.json()
    except ValueError:
        body = answer.text
    if answer.is_success:
        return Call(method, path, answer.status_code, took, body)
    detail = body.get("detail") if isinstance(body, dict) else body
    return Call(
        method, path, answer.status_code, took, body, f"HTTP {answer.status_code}: {detail}"
    )


def _write(settings: Settings, returns: ApiReturns) -> None:
    """The classic apireturns.txt (each answer after its request line) and apireturns.json."""
    folder = settings.reports_path
    text_path, json_path = folder / API_RETURNS_TEXT, folder / API_RETURNS_JSON
    blocks = [f"riskwatch API returns from {returns.url}"]
    for call in returns.calls:
        status = call.status if call.status is not None else "no answer"
        blocks.append(
            f"{call.method} {call.path} -> {status} ({call.seconds * 1000:.1f} ms)"
            + (f" {call.error}" if call.error else "")
            + ("\n" + json.dumps(call.response, indent=2) if call.response is not None else "")
        )
    write_text_atomic(text_path, "\n\n".join(blocks) + "\n")
    write_json_atomic(json_path, returns.to_dict())
