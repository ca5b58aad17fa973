"""The history: per data batch, each cycle's check and each model change."""

from __future__ import annotations

from typing import Any

from riskwatch.reporting import history, plots
from riskwatch.storage.store import BatchRecord

# The history plots: per data batch, each model change marked, every check included


def batch(number: int, finished_at: str) -> BatchRecord:
    counts = dict.fromkeys(
        ("size_bytes", "rows_read", "rows_valid", "rows_quarantined", "rows_duplicate"), 0
    )
    return BatchRecord(
        id=number,
        source="demo",
        name=f"month_{number:02d}.csv",
        sha256="",
        status="ingested",
        rows_added=0,
        missing_values={},
        reason="",
        started_at=finished_at,
        finished_at=finished_at,
        watermark_low=None,
        watermark_high=None,
        **counts,
    )


def cycle(judged: list[int], version: str, value: float, decision: str) -> dict[str, Any]:
    performance = {"metric": "roc_auc", "current": {"value": value}, "decision": decision}
    drifts = [{"feature": "lastmonth_activity", "psi": value / 10}]
    return {
        "steps": [
            {"name": "ingest", "detail": {"judged_batch_ids": judged}},
            {
                "name": "evaluate",
                "detail": {"version": version, "performance": performance, "data_drift": drifts},
            },
        ]
    }


def test_history_is_per_batch_with_each_cycles_check_and_each_model_change() -> None:
    # Twelve monthly batches all ingested within one minute: a time axis would show one point.
    batches = [batch(n, f"2026-01-01T00:00:{n:02d}") for n in range(1, 13)]
    cycles = [cycle([n], "v1", 0.74, "keep") for n in range(2, 5)]
    cycles.append(cycle([5], "v1", 0.702, "retrain"))  # the drop the evaluate step measured
    cycles += [cycle([n], "v2", 0.75, "keep") for n in range(6, 13)]
    deployments_ = [
        {"version": "v1", "deployed_at": "2026-01-01T00:00:01.5", "action": "deploy"},
        {"version": "v2", "deployed_at": "2026-01-01T00:00:05.5", "action": "deploy"},
    ]
    models_ = [
        {"version": "v1", "metrics": {"holdout": {"roc_auc": {"value": 0.75}}}},
        {"version": "v2", "metrics": {"holdout": {"roc_auc": {"value": 0.76}}}},
    ]
    report_check = ("2026-01-02", "v2", {"batch_id": 12, "in_training": False, "features": []})
    checks = history.every_check(cycles, [report_check])
    found = history.score_history(checks, models_, deployments_, batches, "roc_auc")

    checked = found.series[0]
    assert [x for x, _, _ in checked.points] == [float(n) for n in range(2, 13)]
    assert (5.0, "v1", 0.702) in checked.points
    assert checked.flagged == [(5.0, 0.702)]
    assert found.changes == [(1.5, "deploy v1"), (5.5, "deploy v2")]
    assert found.series[1].points == [(1.5, "v1", 0.75), (5.5, "v2", 0.76)]
    # Drawn: one line per model version, never one line joining both.
    figure = plots.score_history_figure(found)
    lines = [
        line
        for line in figure.axes[0].lines
        if len(line.get_xdata()) > 1 and line.get_marker() == "o"
    ]
    assert sorted(len(line.get_xdata()) for line in lines) == [4, 7]
    labels = [tick.get_text() for tick in figure.axes[0].get_xticklabels()]
    assert "month_05.csv" in labels
    psi = history.drift_history(checks, deployments_, batches, {"lastmonth_activity": "last"})
    assert [x for x, _, _ in psi.series[0].points] == [float(n) for n in range(2, 13)]


def test_a_check_on_data_the_model_was_trained_on_is_left_out_of_the_history() -> None:
    stored = [
        ("t1", "v2", {"batch_id": 5, "in_training": True, "performance": {"metric": "roc_auc"}}),
        ("t2", "v2", {"batch_id": 6, "in_training": False, "features": []}),
    ]
    assert [c.batch for c in history.every_check([], stored)] == [6]
