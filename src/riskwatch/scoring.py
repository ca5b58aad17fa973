"""Scoring: a model's metrics on labelled data, recorded, with the classic latestscore.txt."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from riskwatch.config import Settings
from riskwatch.ingestion.datasets import DataError, data_files, read_labelled
from riskwatch.model.metrics import METRIC_NAMES, Metric, compute_metrics, effective_resamples
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.registry import load_deployed, load_model
from riskwatch.schema import TARGET
from riskwatch.storage.clock import utcnow
from riskwatch.storage.files import sha256_file, write_text_atomic
from riskwatch.storage.store import Store, scores

LATEST_SCORE = "latestscore.txt"
LABELS = {
    "f1": "F1",
    "precision": "precision",
    "recall": "recall",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "brier": "Brier score",
    "precision_at_k": "precision at K",
    "recall_at_k": "recall at K",
}


@dataclass(frozen=True)
class ScoreReport:
    """A version's metrics on one dataset."""

    version: str
    dataset: str
    rows: int
    exit_rate: float | None
    threshold: float
    k: int
    metrics: dict[str, Metric] = field(default_factory=dict)
    resamples: int = 0
    scored_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (F1 first, as the classic asks)."""
        return {
            "version": self.version,
            "dataset": self.dataset,
            "rows": self.rows,
            "exit_rate": self.exit_rate,
            "threshold": self.threshold,
            "k": self.k,
            "metrics": {name: self.metrics[name].to_dict() for name in METRIC_NAMES},
            "bootstrap_resamples": self.resamples,
            "scored_at": self.scored_at,
        }

    def summary(self) -> str:
        """The metrics as a small readable table."""
        rate = "n/a" if self.exit_rate is None else f"{self.exit_rate:.1%}"
        lines = [
            f"Model {self.version} on {self.dataset}: {self.rows:,} rows, exit rate {rate}, "
            f"threshold {self.threshold}, K = {self.k}; 95 % intervals from "
            f"{self.resamples:,} bootstrap resamples"
        ]
        for name in METRIC_NAMES:
            lines.append(f"  {LABELS[name]:<15} {format_metric(self.metrics[name])}")
        return "\n".join(lines)


def format_metric(metric: Metric) -> str:
    """A metric as '0.812 (95 % CI 0.790-0.833)', or 'undefined on this data'."""
    if metric.value is None:
        return "undefined on this data"
    if metric.low is None or metric.high is None:
        return f"{metric.value:.4f}"
    return f"{metric.value:.4f} (95 % CI {metric.low:.4f}-{metric.high:.4f})"


def evaluate(model: Any, frame: pd.DataFrame, settings: Settings) -> dict[str, Metric]:
    """Every metric of a model on a labelled frame, with bootstrap intervals."""
    return _metrics(model, frame, settings, METRIC_NAMES, settings.bootstrap_resamples)


def metric_value(model: Any, frame: pd.DataFrame, settings: Settings, metric: str) -> float | None:
    """One metric of a model on a labelled frame, its value alone: no interval is drawn."""
    return _metrics(model, frame, settings, (metric,), 0)[metric].value


def _metrics(
    model: Any, frame: pd.DataFrame, settings: Settings, names: tuple[str, ...], resamples: int
) -> dict[str, Metric]:
    return compute_metrics(
        frame[TARGET].to_numpy(),
        predict_risk(model, frame),
        threshold=settings.decision_threshold,
        k=settings.call_list_capacity,
        resamples=resamples,
        seed=settings.model_seed,
        names=names,
    )


def score(
    settings: Settings, store: Store, *, version: str | None = None, data: Path | None = None
) -> ScoreReport:
    """Score the deployed model (or a version) on the holdout (or a file); record the result."""
    if version is None:
        deployed, model = load_deployed(settings.prod_deployment_path)
        version = deployed.version
    else:
        model = load_model(settings.output_model_path, version)
    path = data if data is not None else settings.test_data_path
    frame = read_labelled(path)
    if frame.empty:
        raise DataError(f"{path}: no rows to score the model on")
    report = ScoreReport(
        version=version,
        dataset=str(path),
        rows=len(frame),
        exit_rate=float(frame[TARGET].mean()),
        threshold=settings.decision_threshold,
        k=settings.call_list_capacity,
        metrics=evaluate(model, frame, settings),
        resamples=effective_resamples(len(frame), settings.bootstrap_resamples),
        scored_at=utcnow(),
    )
    _record(settings, store, report, path)
    return report


def _record(settings: Settings, store: Store, report: ScoreReport, path: Path) -> None:
    """Keep the score in the database and the classic latestscore.txt (F1; nan if undefined)."""
    hashes = [sha256_file(f) for f in data_files(path)]
    digest = hashes[0] if len(hashes) == 1 else hashlib.sha256("".join(hashes).encode()).hexdigest()
    store.add(
        scores,
        version=report.version,
        dataset=report.dataset,
        dataset_sha256=digest,
        rows=report.rows,
        metrics=report.to_dict()["metrics"],
        scored_at=report.scored_at,
    )
    write_text_atomic(
        settings.output_model_path / LATEST_SCORE, score_text(report.metrics["f1"].value)
    )


def score_text(f1: float | None) -> str:
    """The classic latestscore.txt content: F1 as a float's text, nan when undefined."""
    return f"{'nan' if f1 is None else repr(f1)}\n"
