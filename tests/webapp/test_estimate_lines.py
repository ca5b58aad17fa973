"""The label-free estimate, the multivariate drift check and the expected leavers on the web app's
pages, in the report's words; cycles recorded before these checks existed show nothing."""

from __future__ import annotations

import html
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskwatch.api import create_app
from riskwatch.storage.store import Store, call_lists, cycles
from riskwatch.webapp.estimates import ledger_lines, overview_lines

from ..conftest import workspace_settings

OLD = {"estimated", "multivariate_drift", "expected_leavers"}


def page_text(client: TestClient, path: str) -> str:
    """A page's HTML with its entities read back, as a user reads it."""
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return html.unescape(answer.text)


def recorded(workspace: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The recorded cycles (newest first) and the newest published list."""
    with Store(workspace_settings(workspace).database_url) as store:
        return store.rows(cycles, newest_first=True), store.rows(call_lists, newest_first=True)[0]


def step(cycle: dict[str, Any], name: str) -> dict[str, Any]:
    """A recorded step's detail (empty when the cycle has no such step)."""
    return next((s.get("detail") or {} for s in cycle["steps"] or [] if s["name"] == name), {})


def shown(value: float | None) -> str:
    """A recorded figure as the pages show it (the report's four decimals)."""
    return "n/a" if value is None else f"{value:.4f}"


def auc_words(found: dict[str, Any], start: str) -> str:
    """The start of a recorded ROC AUC estimate's sentence: figure, band, realized."""
    band = f"{shown(found['roc_auc_low'])} to {shown(found['roc_auc_high'])}"
    if found["roc_auc_low"] is None:
        band = "n/a"
    realized = found["realized"]["roc_auc"]
    after = "; realized not known yet" if realized is None else f"; realized {shown(realized)}, "
    return f"{start}{shown(found['roc_auc'])} (95 % band {band}){after}"


@pytest.fixture(scope="module")
def client(cycled_workspace: Path) -> Iterator[TestClient]:
    with TestClient(create_app(workspace_settings(cycled_workspace))) as client:
        yield client


def test_the_cycles_page_shows_each_estimate_beside_the_realized_figure(
    client: TestClient, cycled_workspace: Path
) -> None:
    text = page_text(client, "/app/cycles")
    estimated = [step(c, "evaluate") for c in recorded(cycled_workspace)[0]]
    estimated = [e for e in estimated if (e.get("estimated") or {}).get("roc_auc") is not None]
    assert estimated, "the cycled demo records an estimate"
    for evaluation in estimated:
        found, domain = evaluation["estimated"], evaluation["multivariate_drift"]
        assert auc_words(found, "Expected ROC AUC: ") in text
        rows = f"{found['n']:,} row{'' if found['n'] == 1 else 's'}"
        assert f"on {rows}, from calibrated risks; blind to concept drift" in text
        if domain is None:
            continue
        verdict = "drifted" if domain["drifted"] else "not drifted"
        assert (
            f"Multivariate drift (all features together): {verdict} — a classifier tells "
            f"the newest rows from the reference with ROC AUC {domain['auc']:.3f} "
            f"(threshold {domain['threshold']:.3f}" in text
        )
        assert f"{domain['n_reference']:,} vs {domain['n_newest']:,} rows." in text


def test_the_overview_shows_the_newest_estimate_and_multivariate_verdict(
    client: TestClient, cycled_workspace: Path
) -> None:
    text = page_text(client, "/app/")
    newest = next(
        c
        for c in recorded(cycled_workspace)[0]
        if (step(c, "evaluate").get("estimated") or {}).get("roc_auc") is not None
    )
    start = f"Expected ROC AUC on the newest labelled clients (cycle {newest['id']}): "
    words = auc_words(step(newest, "evaluate")["estimated"], start)
    assert words in text
    assert "from calibrated risks; blind to concept drift." in text
    assert "Multivariate drift (all features together): " in text


def test_the_call_list_says_how_many_listed_clients_are_expected_to_leave(
    client: TestClient, cycled_workspace: Path
) -> None:
    history, listed = recorded(cycled_workspace)
    cycle = next(c for c in history if c["id"] == listed["cycle_id"])
    expected = step(cycle, "call list")["expected_leavers"]
    text = page_text(client, "/app/calllist")
    assert (
        f"Expected to leave: {expected['leavers']:.0f} of the {listed['size']:,} listed "
        f"(95 % band {expected['low']:.0f} to {expected['high']:.0f}), from calibrated risks; "
        "blind to concept drift." in text
    )


def test_cycles_recorded_before_the_estimate_existed_show_none_of_it(
    cycled_workspace: Path, tmp_path: Path
) -> None:
    workspace = Path(shutil.copytree(cycled_workspace, tmp_path / "ws"))
    with Store(workspace_settings(workspace).database_url) as store:
        for cycle in store.rows(cycles):
            steps = [
                s | {"detail": {k: v for k, v in (s.get("detail") or {}).items() if k not in OLD}}
                for s in cycle["steps"] or []
            ]
            store.update(cycles, cycle["id"], steps=steps)
    with TestClient(create_app(workspace_settings(workspace))) as client:
        for path in ("/app/", "/app/cycles", "/app/calllist"):
            text = page_text(client, path)
            assert "blind to concept drift" not in text
            assert "Multivariate drift" not in text
            assert "Expected to leave" not in text


def estimate(realized: float | None) -> dict[str, Any]:
    """An evaluate step's record with an estimate (ROC AUC 0.78, band 0.74 to 0.82)."""
    return {
        "estimated": {
            "roc_auc": 0.78,
            "roc_auc_low": 0.74,
            "roc_auc_high": 0.82,
            "precision_at_k": None,
            "precision_at_k_low": None,
            "precision_at_k_high": None,
            "k": 100,
            "n": 1200,
            "calibration_rows": 400,
            "calibration_source": "the holdout",
            "blind_to": "concept drift",
            "realized": {"roc_auc": realized, "precision_at_k": None},
        },
        "multivariate_drift": None,
    }


def test_a_realized_figure_below_the_band_reads_as_outside_it_and_says_why() -> None:
    lines = ledger_lines(estimate(0.70))
    assert lines[0] == (
        "Expected ROC AUC: 0.7800 (95 % band 0.7400 to 0.8200); realized 0.7000, "
        "outside the band, below (concept drift, or a calibration the newest data outgrew)."
    )
    assert lines[1] == (
        "Estimated without labels on 1,200 rows, from calibrated risks; blind to concept drift: "
        "a realized figure below its band is the sign of it."
    )
    assert overview_lines(estimate(0.80), 7) == [
        "Expected ROC AUC on the newest labelled clients (cycle 7): 0.7800 "
        "(95 % band 0.7400 to 0.8200); realized 0.8000, inside the band, "
        "from calibrated risks; blind to concept drift."
    ]


def test_a_step_recorded_without_the_estimate_has_no_lines() -> None:
    assert ledger_lines({"rows": 10, "performance": None}) == []
    assert ledger_lines(None) == []
    assert overview_lines({"estimated": None, "multivariate_drift": None}, 1) == []


def test_a_realized_figure_on_a_batch_too_small_to_judge_is_not_held_against_the_band() -> None:
    # One or two rows give a realized figure of 0 or 1: "below, concept drift" would be noise.
    record = estimate(0.0) | {
        "prediction_drift": {
            "feature": "predicted_risk",
            "test": "ks",
            "statistic": None,
            "p_value": None,
            "threshold": 0.05,
            "reference_rows": 5000,
            "current_rows": 2,
            "psi": None,
            "psi_threshold": 0.2,
            "drifted": False,
            "psi_drifted": False,
            "judged": False,
            "min_rows": 10,
        }
    }
    lines = ledger_lines(record)
    assert lines[0] == (
        "Expected ROC AUC: 0.7800 (95 % band 0.7400 to 0.8200); realized 0.0000, "
        "not compared: only 2 rows (at least 10 needed)."
    )
    assert "outside the band" not in " ".join(overview_lines(record, 3))
