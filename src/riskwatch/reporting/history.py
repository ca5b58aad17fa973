"""The history plots' data: every check per data batch, and when the production model changed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from riskwatch.storage.store import BatchRecord

Stored = tuple[str, str | None, dict[str, Any]]  # a report's drift check: time, version, result
TRAINED = "recorded at training (holdout)"
CHECKED = "on newly arrived data (each cycle and report)"


@dataclass(frozen=True)
class Series:
    """One line of a history plot: (x, model version, value) points; flagged ones in red."""

    label: str
    points: list[tuple[float, str, float]]
    marker: str = "o"
    color: str | None = None
    flagged: list[tuple[float, float]] = field(default_factory=list)
    joined: bool = True  # a line through each run of one model version's points

    def runs(self) -> list[list[tuple[float, float]]]:
        """The points in x order, split wherever the model version changes."""
        runs: list[list[tuple[float, float]]] = []
        last = None
        for x, version, value in sorted(self.points):
            if version != last:
                runs.append([])
                last = version
            runs[-1].append((x, value))
        return runs


@dataclass(frozen=True)
class History:
    """What a history plot shows: series, model changes (x, label) and the batches' names."""

    series: list[Series]
    changes: list[tuple[float, str]]
    names: dict[int, str]  # batch number (x) -> the batch's name


@dataclass(frozen=True)
class Check:
    """One check of the model in production on newly arrived data, placed at its newest batch."""

    batch: int
    version: str
    performance: dict[str, Any] | None
    psi: dict[str, float] = field(default_factory=dict)  # per column, predicted_risk included


def cycle_checks(cycles: list[dict[str, Any]]) -> list[Check]:
    """The evaluate step of each cycle: the production model on the batches the cycle judged."""
    found = []
    for row in cycles:
        steps = {step["name"]: step.get("detail") or {} for step in row.get("steps") or []}
        judged = steps.get("ingest", {}).get("judged_batch_ids") or []
        evaluate = steps.get("evaluate", {})
        if not judged or not evaluate.get("version"):
            continue
        columns = [*(evaluate.get("data_drift") or []), evaluate.get("prediction_drift")]
        psi = _psi(columns)
        found.append(Check(max(judged), evaluate["version"], evaluate.get("performance"), psi))
    return found


def report_checks(stored: list[Stored]) -> list[Check]:
    """The reports' drift checks, leaving out those on data the model was trained on."""
    found = []
    for _, version, result in stored:
        if result.get("in_training") or result.get("batch_id") is None or version is None:
            continue
        columns = [*(result.get("features") or []), result.get("prediction")]
        psi = _psi(columns)
        found.append(Check(int(result["batch_id"]), version, result.get("performance"), psi))
    return found


def _psi(columns: list[dict[str, Any] | None]) -> dict[str, float]:
    """Each judged column's PSI (a batch too small to judge has none to plot)."""
    return {c["feature"]: float(c["psi"]) for c in columns if c and c.get("psi") is not None}


def every_check(cycles: list[dict[str, Any]], stored: list[Stored]) -> list[Check]:
    """Each (batch, model) checked once: a cycle's evaluate step, else a report's check."""
    found: dict[tuple[int, str], Check] = {}
    for item in [*cycle_checks(cycles), *report_checks(stored)]:
        found.setdefault((item.batch, item.version), item)
    return sorted(found.values(), key=lambda c: c.batch)


def position(moment: str, batches: list[BatchRecord]) -> int:
    """The newest batch ingested at a moment (0 before the first)."""
    done = [b.id for b in batches if b.finished_at and b.finished_at <= moment]
    return max(done, default=0)


def model_changes(
    deployments: list[dict[str, Any]], batches: list[BatchRecord]
) -> list[tuple[float, str]]:
    """Each deployment and rollback between the batches it came after and before, labelled."""
    changes = []
    for row in sorted(deployments, key=lambda r: str(r["deployed_at"])):
        x = position(str(row["deployed_at"]), batches) + 0.5
        changes.append((x, f"{row['action']} {row['version']}"))
    return changes


def score_history(
    checks: list[Check],
    models: list[dict[str, Any]],
    deployments: list[dict[str, Any]],
    batches: list[BatchRecord],
    metric: str,
) -> History:
    """The metric of every check, and each deployed model's recorded score where it started."""
    checked, flagged = [], []
    for item in checks:
        performance = item.performance or {}
        value = (performance.get("current") or {}).get("value")
        if performance.get("metric") != metric or not _finite(value):
            continue
        checked.append((float(item.batch), item.version, float(value)))
        if performance.get("decision") == "retrain":
            flagged.append((float(item.batch), float(value)))
    recorded = {
        row["version"]: ((row["metrics"].get("holdout") or {}).get(metric) or {}).get("value")
        for row in models
    }
    trained = []
    for row in sorted(deployments, key=lambda r: str(r["deployed_at"])):
        value = recorded.get(row["version"])
        if _finite(value):
            x = position(str(row["deployed_at"]), batches) + 0.5
            trained.append((x, str(row["version"]), float(value)))
    series = [
        Series(CHECKED, checked, "o", None, flagged),
        Series(TRAINED, trained, "D", "#888888", joined=False),
    ]
    return History(series, model_changes(deployments, batches), _names(batches))


def drift_history(
    checks: list[Check],
    deployments: list[dict[str, Any]],
    batches: list[BatchRecord],
    columns: dict[str, str],
) -> History:
    """Each column's PSI at every check (columns: stored name -> name shown)."""
    series = []
    for key, name in columns.items():
        points = [
            (float(c.batch), c.version, c.psi[key]) for c in checks if _finite(c.psi.get(key))
        ]
        series.append(Series(name, points))
    return History(series, model_changes(deployments, batches), _names(batches))


def _names(batches: list[BatchRecord]) -> dict[int, str]:
    return {b.id: b.name for b in batches}


def _finite(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and math.isfinite(value)
