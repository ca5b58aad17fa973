"""How well one month's drop was ranked by the model deployed before it arrived."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from riskwatch.model.metrics import compute_metrics

SCORED = ("precision_at_k", "roc_auc", "brier")


@dataclass(frozen=True)
class MonthScore:
    """One drop scored: p@K, the oracle's p@K (true risks) and their ratio, ROC AUC, Brier."""

    drop: str
    rows: int
    precision_at_k: float | None
    oracle_precision_at_k: float | None
    of_oracle: float | None
    roc_auc: float | None
    brier: float | None

    def to_dict(self) -> dict[str, Any]:
        """The score as JSON-ready values."""
        return asdict(self)


def score_month(
    drop: str, labels: np.ndarray, risks: np.ndarray, truth: np.ndarray | None, k: int
) -> MonthScore:
    """Score the risks a model gave one drop against its labels (and the true risks if known)."""
    found = compute_metrics(labels, risks, k=k, resamples=0, names=SCORED)
    precision = found["precision_at_k"].value
    oracle = None
    if truth is not None:
        oracle = compute_metrics(labels, truth, k=k, resamples=0, names=SCORED[:1])[
            "precision_at_k"
        ].value
    ratio = precision / oracle if precision is not None and oracle else None
    return MonthScore(
        drop=drop,
        rows=len(labels),
        precision_at_k=precision,
        oracle_precision_at_k=oracle,
        of_oracle=ratio,
        roc_auc=found["roc_auc"].value,
        brier=found["brier"].value,
    )


def mean_of(months: list[MonthScore], name: str) -> float | None:
    """The mean of one figure over the months that have it (None when none has)."""
    values = [getattr(m, name) for m in months if getattr(m, name) is not None]
    return float(np.mean(values)) if values else None
