"""Diagnostics: run each part on the workspace, store it, read the stored history as text."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from riskwatch.config import Settings
from riskwatch.diagnostics.dependencies import check_dependencies, dependencies_text
from riskwatch.diagnostics.statistics import (
    DiagnosticsError,
    batch_missing_shares,
    missing_shares,
    missing_text,
    number,
    read_master_or_stop,
    statistics_text,
    summary_statistics,
)
from riskwatch.diagnostics.timings import measure_timings, timings_text
from riskwatch.ingestion.datasets import read_labelled
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.registry import (
    METADATA_FILE,
    MODEL_FILE,
    Deployed,
    Loaded,
    load_verified,
    read_deployment,
)
from riskwatch.schema import ID_COLUMN
from riskwatch.storage.clock import utcnow
from riskwatch.storage.files import read_json
from riskwatch.storage.store import Store, diagnostics

KINDS = ("predictions", "summary_statistics", "missing_data", "timings", "dependencies")
# Kinds other steps store in the same table (the report's drift checks), readable by history().
RECORDED_KINDS = (*KINDS, "drift")
RISK_QUANTILES = {"q10": 0.1, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q90": 0.9}


@dataclass(frozen=True)
class Diagnosis:
    """The diagnostics of one run as stored: each part by kind, the deployed version, the time."""

    version: str | None
    created_at: str
    parts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The diagnosis as JSON-ready values."""
        return {"version": self.version, "created_at": self.created_at, **self.parts}

    def summary(self) -> str:
        """The diagnosis as readable lines."""
        lines = [f"Diagnostics at {self.created_at} (deployed model: {self.version or 'none'})"]
        for kind in KINDS:
            if kind in self.parts:
                lines.extend(_TEXT[kind](self.parts[kind]))
        return "\n".join(lines)


def predictions(model: Any, frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Each client's probability of leaving and its label (1: leaving) at the threshold."""
    risk = predict_risk(model, frame)
    label = (risk >= threshold).astype("int64")
    return pd.DataFrame(
        {ID_COLUMN: frame[ID_COLUMN].to_numpy(), "probability": risk, "label": label}
    )


def prediction_summary(predicted: pd.DataFrame) -> dict[str, Any]:
    """Rows, mean risk, share labelled as leaving and risk quantiles (not every row)."""
    risk = predicted["probability"]
    if predicted.empty:
        return {"rows": 0, "mean_risk": None, "share_leaving": None, "risk_quantiles": {}}
    return {
        "rows": len(predicted),
        "mean_risk": float(risk.mean()),
        "share_leaving": float(predicted["label"].mean()),
        "risk_quantiles": {name: float(risk.quantile(q)) for name, q in RISK_QUANTILES.items()},
    }


def diagnose(
    settings: Settings,
    store: Store,
    *,
    data: Path | None = None,
    timings: bool = True,
    dependencies: bool = True,
    held: Loaded | None = None,
) -> Diagnosis:
    """Run the diagnostics on the workspace; store each part with the time; return them
    (held: models already loaded, by sha256)."""
    master = read_master_or_stop(settings)
    # Read the pointer once, so the version, model and metadata come from one deployment.
    deployed = read_deployment(settings.prod_deployment_path)
    metadata = (read_json(deployed.folder / METADATA_FILE) if deployed else None) or {}
    batches = store.batches(status="ingested")
    parts: dict[str, Any] = {
        "predictions": _predictions_part(settings, deployed, data, held),
        "summary_statistics": summary_statistics(master),
        "missing_data": {
            "master": missing_shares(master),
            "latest_batch": batch_missing_shares(batches[-1]) if batches else None,
        },
    }
    if timings:
        # Beside the deployed model's own training time; earlier runs are in history("timings").
        trained = (metadata.get("training") or {}).get("seconds")
        parts["timings"] = measure_timings(settings, master) | {"deployed_model_training": trained}
    if dependencies:
        packages = metadata.get("packages")
        recorded = packages if isinstance(packages, dict) else None
        parts["dependencies"] = check_dependencies(settings, recorded)
    version, created_at = (deployed.version if deployed else None), utcnow()
    for kind, result in parts.items():
        store.add(diagnostics, kind=kind, version=version, result=result, created_at=created_at)
    return Diagnosis(version, created_at, parts)


def _predictions_part(
    settings: Settings, deployed: Deployed | None, data: Path | None, held: Loaded | None
) -> dict[str, Any]:
    if deployed is None:
        where = settings.prod_deployment_path
        reason = f"no model is deployed in {where}: run `riskwatch train` then `riskwatch deploy`"
        return {"deployed": False, "reason": reason}
    model = load_verified(deployed.folder / MODEL_FILE, deployed.sha256, held)
    path = data if data is not None else settings.test_data_path
    frame = read_labelled(path, require_target=False)  # labels are not needed to predict
    threshold = settings.decision_threshold
    found = prediction_summary(predictions(model, frame, threshold))
    return {"deployed": True, "dataset": str(path), "threshold": threshold, **found}


def history(store: Store, kind: str, limit: int | None = 10) -> list[dict[str, Any]]:
    """The stored results of one kind of diagnostic, newest first."""
    if kind not in RECORDED_KINDS:
        known = ", ".join(RECORDED_KINDS)
        raise DiagnosticsError(f"no diagnostic called {kind!r}; they are: {known}")
    return store.rows(diagnostics, newest_first=True, limit=limit, kind=kind)


def history_text(kind: str, rows: list[dict[str, Any]]) -> str:
    """Stored results of one kind, newest first: each with its time, model and whole text."""
    if not rows:
        return f"No stored {kind} results yet: `riskwatch diagnose` (or a cycle) records them"
    blocks = []
    for row in rows:
        head = f"{row['created_at']}  model {row['version'] or 'none'}"
        blocks.append("\n".join([head, *(f"  {line}" for line in _entry_lines(kind, row))]))
    return "\n\n".join(blocks)


def _entry_lines(kind: str, row: dict[str, Any]) -> list[str]:
    """One stored result as readable lines; a result of an older shape as shortened JSON."""
    try:
        lines: list[str] = (_TEXT | {"drift": _drift_text})[kind](row["result"])
        return lines
    except (KeyError, TypeError, ValueError, AttributeError):
        # Shortened at a word's end, never in the middle of one; --json prints it whole.
        said = json.dumps(row["result"], default=str)
        return [textwrap.shorten(said, width=200, placeholder=" ... (whole with --json)")]


def _drift_text(part: dict[str, Any]) -> list[str]:
    drifted = [f["feature"] for f in part["features"] if f["drifted"] or f.get("psi_drifted")]
    prediction = part.get("prediction") or {}
    moved = prediction.get("drifted") or prediction.get("psi_drifted")
    performance = (part.get("performance") or {}).get("evidence") or "no newly labelled rows"
    return [
        f"Drift on {part['batch']}: features that drifted: {', '.join(drifted) or 'none'}; "
        f"predicted risk {'drifted' if moved else 'did not drift'}",
        f"Performance: {performance}",
    ]


def _predictions_text(part: dict[str, Any]) -> list[str]:
    if not part["deployed"]:
        return [f"Predictions: {part['reason']}"]
    return [
        f"Predictions on {part['dataset']}: {part['rows']:,} rows, mean risk "
        f"{number(part['mean_risk'])}, {number(part['share_leaving'], '.1%')} labelled as "
        f"leaving (risk >= {part['threshold']})"
    ]


_TEXT: dict[str, Callable[[Any], list[str]]] = {
    "predictions": _predictions_text,
    "summary_statistics": statistics_text,
    "missing_data": missing_text,
    "timings": timings_text,
    "dependencies": dependencies_text,
}
