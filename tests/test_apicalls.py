"""The apicalls client: what it says when the API cannot be reached, and its summary of a run.

The calls against a real server are tested with the API (tests/api/test_server.py).
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from riskwatch.apicalls import ApiCallError, ApiReturns, Call, call_api
from riskwatch.config import load_settings

from .conftest import CLASSIC


def test_an_address_that_is_not_http_is_refused_naming_it(tmp_path: Path) -> None:
    settings = load_settings(Path(shutil.copytree(CLASSIC, tmp_path / "c")) / "config.json", env={})
    with pytest.raises(ApiCallError, match="not an http\\(s\\) address: 'ftp://x'"):
        call_api(settings, "ftp://x")


def test_no_server_fails_at_the_first_call_and_keeps_the_files_as_they_were(
    tmp_path: Path,
) -> None:
    settings = load_settings(Path(shutil.copytree(CLASSIC, tmp_path / "c")) / "config.json", env={})
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    returns = call_api(settings, f"http://127.0.0.1:{port}")

    first, *rest = returns.calls
    assert (first.path, first.status) == ("/health", None)
    assert first.error is not None and first.error.startswith("cannot connect")
    assert {call.error for call in rest} == {"not called"}
    failure = returns.failure()
    assert failure is not None
    assert failure.startswith(f"GET http://127.0.0.1:{port}/health failed: cannot connect")
    assert f"; {len(rest)} more call(s) failed or were not made" in failure
    assert not returns.written
    assert "keep nothing yet (no run has succeeded)" in returns.summary()
    assert not Path(returns.paths[0]).exists()


def test_a_run_where_every_call_answered_has_no_failure_and_a_line_per_call() -> None:
    calls = [Call("GET", "/health", 200, 0.0123, {"ok": True})]
    calls.append(Call("POST", "/prediction", 422, 0.5, {}, "HTTP 422: bad body"))
    returns = ApiReturns("http://api", "2026-01-01T00:00:00", calls, ("a.txt", "a.json"), False)
    assert returns.failure() == "POST http://api/prediction failed: HTTP 422: bad body"
    lines = returns.summary().splitlines()
    assert lines[0] == "API at http://api, 2026-01-01T00:00:00:"
    assert lines[1] == "  200  GET  /health                      12.3 ms"
    assert lines[2].endswith("500.0 ms  HTTP 422: bad body")
    assert returns.to_dict()["ok"] is False
    assert ApiReturns("http://api", "t", calls[:1]).failure() is None
