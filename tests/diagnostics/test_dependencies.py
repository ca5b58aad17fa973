"""Dependency versions against a real package index: online, slow, refused."""

from __future__ import annotations

import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from riskwatch.config import Settings
from riskwatch.diagnostics.dependencies import check_dependencies
from riskwatch.model.registry import PACKAGES, package_versions

from .conftest import (
    TIMEOUT,
    FakeIndex,
    IndexServer,
    SilentIndex,
    TricklingIndex,
    Waiting,
    by_name,
    closed_port,
)

MakeSettings = Callable[..., Settings]


def test_dependency_check_reports_the_index_version_and_changes_since_training(
    make_settings: MakeSettings, serve: Callable[..., IndexServer]
) -> None:
    index = serve(FakeIndex)
    installed = package_versions()
    recorded = {"numpy": "1.0.0", "pandas": installed["pandas"]}
    rows = by_name(check_dependencies(make_settings(package_index_url=index.url), recorded))
    assert list(rows) == ["python", *PACKAGES]
    assert rows["scikit-learn"]["latest"] == "99.0"
    assert rows["scikit-learn"]["installed"] == installed["scikit-learn"]
    assert (rows["skops"]["latest"], rows["skops"]["reason"]) == ("unknown", "HTTP 404")
    assert rows["riskwatch"]["latest"] == "local"  # this project is never looked up
    assert sorted(index.asked) == sorted(f"/pypi/{n}/json" for n in PACKAGES if n != "riskwatch")
    assert (rows["numpy"]["recorded"], rows["numpy"]["changed_since_training"]) == ("1.0.0", True)
    assert rows["pandas"]["changed_since_training"] is False
    assert rows["scipy"]["changed_since_training"] is None  # not recorded with the model


@pytest.mark.parametrize("handler", [SilentIndex, TricklingIndex], ids=["silent", "trickling"])
def test_dependency_check_gives_up_on_a_slow_index_within_the_timeout(
    waiting_threads: Waiting,
    make_settings: MakeSettings,
    serve: Callable[..., IndexServer],
    handler: type[BaseHTTPRequestHandler],
) -> None:
    index = serve(handler)
    settings = make_settings(package_index_url=index.url, package_index_timeout=TIMEOUT)
    started = time.perf_counter()
    rows = check_dependencies(settings, None)
    elapsed = time.perf_counter() - started
    # All packages are asked at once: seven slow answers cost one timeout, not seven.
    assert elapsed < TIMEOUT * 3
    asked = [row for row in rows if row["name"] not in ("python", "riskwatch")]
    assert {(row["latest"], row["reason"]) for row in asked} == {
        ("unknown", f"timed out after {TIMEOUT} s")
    }
    # The askers give up by themselves too, so the process can exit: none is left waiting.
    while waiting_threads() and time.perf_counter() - started < TIMEOUT * 4:
        time.sleep(0.02)
    assert waiting_threads() == []


def test_dependency_check_says_unknown_when_the_index_refuses_connections(
    make_settings: MakeSettings,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/pypi"
    rows = by_name(check_dependencies(make_settings(package_index_url=url), None))
    assert (rows["numpy"]["latest"], rows["numpy"]["reason"]) == ("unknown", "connection refused")
    assert rows["numpy"]["installed"] == package_versions()["numpy"]


def test_dependency_check_refuses_a_file_url(make_settings: MakeSettings, tmp_path: Path) -> None:
    (tmp_path / "numpy").mkdir()
    (tmp_path / "numpy" / "json").write_text('{"info": {"version": "99.0"}}')
    settings = make_settings(package_index_url=tmp_path.as_uri())
    rows = by_name(check_dependencies(settings, None))
    assert rows["numpy"]["latest"] == "unknown"
    assert "only http and https URLs are asked" in str(rows["numpy"]["reason"])
