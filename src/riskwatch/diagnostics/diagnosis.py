"""Diagnostics: predictions, summary statistics, missing data, timings and dependency versions."""

from __future__ import annotations

import dataclasses
import json
import platform
import shutil
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.config import Settings
from riskwatch.diagnostics.packageindex import UNKNOWN, latest_versions
from riskwatch.errors import RiskwatchError
from riskwatch.ingestion import ingest
from riskwatch.ingestion.datasets import read_labelled
from riskwatch.ingestion.master import MASTER_CSV, MASTER_PARQUET, read_master
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.registry import (
    METADATA_FILE,
    MODEL_FILE,
    PACKAGES,
    Deployed,
    Loaded,
    load_verified,
    read_deployment,
)
from riskwatch.schema import BATCH_COLUMN, ID_COLUMN
from riskwatch.storage.files import read_json
from riskwatch.storage.store import BatchRecord, Store, diagnostics, utcnow
from riskwatch.training import TrainingError, fit_chosen, select_training_rows

KINDS = ("predictions", "summary_statistics", "missing_data", "timings", "dependencies")
# Kinds other steps store in the same table (the report's drift checks), readable by history().
RECORDED_KINDS = (*KINDS, "drift")
STATISTICS = ("count", "mean", "median", "std", "min", "q25", "q75", "max")
RISK_QUANTILES = {"q10": 0.1, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q90": 0.9}


class DiagnosticsError(RiskwatchError):
    """Diagnostics that cannot run on this workspace; the message says what to do."""


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


def summary_statistics(frame: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """Count, mean, median, standard deviation (ddof 1), min, quartiles, max of numeric columns."""
    numbers = frame.select_dtypes("number").drop(columns=[BATCH_COLUMN], errors="ignore")
    if numbers.columns.empty:
        return {}
    names = {"50%": "median", "25%": "q25", "75%": "q75"}
    described = numbers.astype("float64").describe().rename(index=names)
    return {str(c): {s: _finite(described.at[s, c]) for s in STATISTICS} for c in numbers}


def _finite(value: Any) -> float | None:
    """A float, or None where it is undefined (JSON has no NaN; one row has no deviation)."""
    number = float(value)
    return number if np.isfinite(number) else None


def missing_shares(frame: pd.DataFrame) -> dict[str, float]:
    """The share of missing values in each column (0 when there are no rows)."""
    columns = [c for c in frame.columns if c != BATCH_COLUMN]
    return {str(c): float(frame[c].isna().mean()) if len(frame) else 0.0 for c in columns}


def batch_missing_shares(record: BatchRecord) -> dict[str, Any]:
    """The share of missing values a column in a batch as read (ingestion quarantined those)."""
    rows = record.rows_read
    return {
        "batch": record.name,
        "batch_id": record.id,
        "ingested_at": record.finished_at,
        "rows_read": rows,
        "counts": dict(record.missing_values),
        "shares": {c: n / rows if rows else 0.0 for c, n in record.missing_values.items()},
    }


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


def measure_timings(settings: Settings, master: pd.DataFrame | None = None) -> dict[str, Any]:
    """Time one ingestion of the master's data and one training on it; the workspace is kept."""
    master = read_master_or_stop(settings) if master is None else master
    return {"ingestion": _time_ingestion(settings), "training": _time_training(settings, master)}


def read_master_or_stop(settings: Settings) -> pd.DataFrame:
    """The master dataset; DiagnosticsError when nothing was ingested yet."""
    master = read_master(settings.output_folder_path)
    if master.empty:
        folder = settings.output_folder_path
        raise DiagnosticsError(f"no data in {folder}: run `riskwatch ingest` first")
    return master


def _time_ingestion(settings: Settings) -> dict[str, Any]:
    """Ingest a copy of the master dataset's file into a throwaway workspace, once."""
    folder = settings.output_folder_path
    original = folder / MASTER_CSV if (folder / MASTER_CSV).exists() else folder / MASTER_PARQUET
    with tempfile.TemporaryDirectory(prefix="riskwatch-timing-") as scratch:
        root = Path(scratch)
        (root / "source").mkdir()
        shutil.copyfile(original, root / "source" / original.name)
        trial = dataclasses.replace(
            settings,
            source="folder",
            input_folder_path=root / "source",
            source_patterns=(original.name,),
            output_folder_path=root / "ingested",
            database_url=f"sqlite:///{root / 'timing.db'}",
            extra_columns="drop",  # the master's lineage column is not source data
        )
        started = time.perf_counter()
        rows = ingest(trial).master_rows
        seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 4), "rows": rows, "file_bytes": original.stat().st_size}


def _time_training(settings: Settings, master: pd.DataFrame) -> dict[str, Any]:
    """Train the configured model on the master dataset once, as `riskwatch train` would."""
    try:
        rows, weights = select_training_rows(
            master,
            window=settings.training_window,
            recent_batches=settings.training_recent_batches,
            half_life=settings.training_half_life_batches,
        )
        started = time.perf_counter()
        _, choice = fit_chosen(settings, rows, weights)  # not saved: only the time matters
    except TrainingError as exc:
        return {
            "seconds": None,
            "rows": len(master),
            "kind": settings.model_kind,
            "reason": str(exc),
        }
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 4), "rows": len(rows), "kind": choice.kind}


def check_dependencies(settings: Settings, recorded: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Installed, latest and recorded-with-the-model versions of what riskwatch depends on."""
    # riskwatch is this project: an unrelated package of that name may exist on the index.
    asked = [name for name in PACKAGES if name != "riskwatch"]
    latest = latest_versions(settings.package_index_url, asked, settings.package_index_timeout)
    latest["riskwatch"] = ("local", "this project: not looked up on the index")
    latest["python"] = ("n/a", "the interpreter: not looked up on the index")
    rows = []
    for name in ("python", *PACKAGES):
        installed, was = _installed(name), (recorded or {}).get(name)
        row = {"name": name, "installed": installed, "recorded": was}
        row["latest"], row["reason"] = latest[name]
        row["changed_since_training"] = None if was is None else was != installed
        rows.append(row)
    return rows


def _installed(name: str) -> str:
    if name == "python":
        return platform.python_version()
    try:
        return package_metadata.version(name)
    except package_metadata.PackageNotFoundError:
        return "not installed"


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


def _number(value: float | None, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def readable(value: float | None) -> str:
    """A statistic as people write it: 119,894 (not 119894.000), 445.7, 0.243, n/a."""
    if value is None:
        return "n/a"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    # Larger numbers need fewer decimals to be read; small ones keep three significant digits.
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"


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
        f"{_number(part['mean_risk'])}, {_number(part['share_leaving'], '.1%')} labelled as "
        f"leaving (risk >= {part['threshold']})"
    ]


def _statistics_text(part: dict[str, dict[str, float | None]]) -> list[str]:
    lines = ["Summary statistics of the master dataset:"]
    lines.append(" " * 22 + "".join(f"{name:>12}" for name in STATISTICS))
    for column, stats in part.items():
        lines.append(f"  {column:<20}" + "".join(f"{readable(stats[s]):>12}" for s in STATISTICS))
    return lines


def _missing_text(part: dict[str, Any]) -> list[str]:
    def shares(found: dict[str, float]) -> str:
        return ", ".join(f"{c} {share:.1%}" for c, share in found.items() if share) or "none"

    batch = part["latest_batch"] or {"batch": "none", "shares": {}}
    return [
        f"Missing values in the master dataset: {shares(part['master'])}; in the latest batch, "
        f"{batch['batch']} (rows with gaps are quarantined): {shares(batch['shares'])}"
    ]


def _timings_text(part: dict[str, Any]) -> list[str]:
    def took(step: dict[str, Any]) -> str:
        why = f": {step['reason']}" if step.get("reason") else ""
        return f"{_number(step['seconds'], '.2f')} s on {step['rows']:,} rows{why}"

    trained = part["deployed_model_training"]
    return [
        f"Timings: ingestion {took(part['ingestion'])}; training {took(part['training'])}"
        + ("" if trained is None else f" (the deployed model took {trained} s)")
    ]


def _dependencies_text(part: list[dict[str, Any]]) -> list[str]:
    lines = ["Dependencies: installed, latest, at training"]
    for row in part:
        latest = row["latest"] + (f" ({row['reason']})" if row["latest"] == UNKNOWN else "")
        changed = ", CHANGED since training" if row["changed_since_training"] else ""
        lines.append(
            f"  {row['name']}: {row['installed']}, {latest}, {row['recorded'] or 'n/a'}{changed}"
        )
    return lines


_TEXT: dict[str, Callable[[Any], list[str]]] = {
    "predictions": _predictions_text,
    "summary_statistics": _statistics_text,
    "missing_data": _missing_text,
    "timings": _timings_text,
    "dependencies": _dependencies_text,
}
