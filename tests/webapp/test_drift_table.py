"""The overview's drift per batch: a batch too small to judge says so, and leaves a gap in the
PSI chart instead of a value that squashes every other one."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from riskwatch.api import create_app

from ..conftest import workspace_settings


@pytest.fixture(scope="module")
def pages(cycled_workspace: Path) -> Iterator[dict[str, str]]:
    """The overview and cycles pages' HTML as a user reads it (the demo's last cycle judged
    one row)."""
    found = {}
    with TestClient(create_app(workspace_settings(cycled_workspace))) as client:
        for path in ("/app/", "/app/cycles"):
            answer = client.get(path)
            assert answer.status_code == 200, answer.text
            found[path] = html.unescape(answer.text)
    yield found


@pytest.fixture
def overview(pages: dict[str, str]) -> str:
    return pages["/app/"]


def test_a_batch_of_one_row_shows_not_judged_in_the_drift_table(overview: str) -> None:
    table = overview[overview.index('<table class="drift">') :]
    assert "not judged<br>" in table
    assert "only 1 row (at least 10 needed)" in table
    assert "✗ drifted" in table  # the covariate month still drifted


def test_the_psi_chart_leaves_a_gap_for_the_batch_not_judged(overview: str) -> None:
    found = re.search(r'<script type="application/json" id="drift-data">(.*?)</script>', overview)
    assert found is not None
    spec = json.loads(found.group(1))
    newest = [series["values"][-1] for series in spec["series"]]
    assert newest == [None] * len(spec["series"])
    judged = [v for series in spec["series"] for v in series["values"] if v is not None]
    assert judged and max(judged) < 2  # no PSI of about 8 from a one-row batch


def test_the_overview_keeps_the_newest_judged_multivariate_verdict(overview: str) -> None:
    assert "Multivariate drift (all features together): not drifted — " in overview or (
        "Multivariate drift (all features together): drifted — " in overview
    )
    assert "Multivariate drift (all features together): not judged" not in overview


def test_the_cycles_page_says_the_multivariate_check_was_not_judged(pages: dict[str, str]) -> None:
    said = "Multivariate drift (all features together): not judged: only 1 row (at least 50"
    assert said in pages["/app/cycles"]
    assert "Multivariate drift check" not in pages["/app/cycles"]


def test_a_batch_not_judged_does_not_read_as_back_in_line(overview: str) -> None:
    # The one-row batch came after the drifted month: it says nothing of the columns settling.
    assert "Back in line with the training data" not in overview
    assert "Newly drifted since the cycle before: last month's activity" in overview
