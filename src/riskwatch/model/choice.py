"""Model choice: which kind to train on the data at hand, and whether the result can rank at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split

from riskwatch.config import FittedKind, ModelKind
from riskwatch.model.metrics import Metric, compute_metrics
from riskwatch.model.pipeline import ModelParams, build_model, fit_input
from riskwatch.schema import TARGET

# From this many training rows `auto` compares the kinds on one held-out split instead of
# cross-validating: five folds of three kinds would add tens of seconds to every retrain. No
# kind wins by size alone: on the demo's data hgb trails logistic from 3,000 rows by 0.12-0.25
# of the oracle's precision at K (issue 16), so every size asks the data (docs/models.md).
AUTO_HGB_ROWS = 2_000
HELD_OUT_SHARE = 0.25
MAX_COMPARED_ROWS = 40_000  # rows the held-out comparison fits on at most (a seeded sample)
CANDIDATES: tuple[FittedKind, ...] = ("hgb", "logistic", "classic")  # ties go to the first
MAX_FOLDS = 5
CHANCE = 0.5


@dataclass(frozen=True)
class Choice:
    """The kind to train, why, and the cross-validated ROC AUC of each kind compared."""

    setting: ModelKind
    kind: FittedKind
    reason: str
    cv: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The rows it was chosen on and the seed (training.choice_key), when known: the same choice
    # on the same rows is not made twice.
    chosen_on: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The choice as JSON-ready values (recorded with the version)."""
        return {
            "setting": self.setting,
            "kind": self.kind,
            "reason": self.reason,
            "cv": self.cv,
            "chosen_on": self.chosen_on,
        }


def folds_for(labels: pd.Series) -> int:
    """Stratified folds the labels allow: at most MAX_FOLDS, at most the smaller class's count."""
    return min(MAX_FOLDS, int(labels.value_counts().min()))


def cross_validate(
    rows: pd.DataFrame,
    kinds: tuple[FittedKind, ...],
    *,
    seed: int,
    weights: np.ndarray[Any, Any] | None = None,
    resamples: int = 1000,
) -> dict[str, dict[str, Any]]:
    """Each kind's ROC AUC on out-of-fold risks (stratified, seeded folds), with its interval."""
    labels = rows[TARGET]
    folds = folds_for(labels)
    if folds < 2:
        return {}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    result: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        params = ModelParams(kind=kind, seed=seed)
        fit_params = {} if weights is None else {"model__sample_weight": weights}
        risks = cross_val_predict(
            build_model(params),
            fit_input(params, rows),
            labels.to_numpy(),
            cv=splitter,
            method="predict_proba",
            params=fit_params,
        )[:, 1]
        metric = compute_metrics(
            labels.to_numpy(), risks, names=("roc_auc",), resamples=resamples, seed=seed
        )["roc_auc"]
        result[kind] = {"roc_auc": metric.to_dict(), "folds": folds, "rows": len(rows)}
    return result


def choose_kind(
    setting: ModelKind,
    rows: pd.DataFrame,
    *,
    seed: int,
    weights: np.ndarray[Any, Any] | None = None,
    resamples: int = 1000,
) -> Choice:
    """The kind to train: the one set, or for `auto` the best on a held-out split of large
    data, by cross-validation on small data."""
    small = len(rows) < AUTO_HGB_ROWS
    if setting != "auto":
        # Honoured as set; on small data its own CV is the evidence that it ranks.
        cv = cross_validate(rows, (setting,), seed=seed, weights=weights, resamples=resamples)
        return Choice(setting, setting, "set by model_kind", cv if small else {})
    if not small:
        return _held_out_choice(rows, seed=seed, weights=weights)
    cv = cross_validate(rows, CANDIDATES, seed=seed, weights=weights, resamples=resamples)
    if not cv:
        reason = (
            f"auto: too few rows of each class to cross-validate ({len(rows)} rows), so logistic"
        )
        return Choice(setting, "logistic", reason)
    best = max(CANDIDATES, key=lambda kind: _auc_or_floor(cv[kind]["roc_auc"]["value"]))
    scores = ", ".join(f"{kind} {_fmt(cv[kind]['roc_auc']['value'])}" for kind in CANDIDATES)
    folds = cv[best]["folds"]
    reason = (
        f"auto: {len(rows):,} rows, fewer than {AUTO_HGB_ROWS:,}; best cross-validated ROC AUC "
        f"({folds} folds): {scores}"
    )
    return Choice(setting, best, reason, cv)


def _held_out_choice(
    rows: pd.DataFrame, *, seed: int, weights: np.ndarray[Any, Any] | None
) -> Choice:
    """`auto` on large data: each kind fit on a stratified 75 % (at most MAX_COMPARED_ROWS),
    the one with the best ROC AUC on the other 25 % chosen; the scores in the reason."""
    index = np.arange(len(rows))
    if len(rows) > MAX_COMPARED_ROWS:
        index = np.random.default_rng(seed).choice(index, MAX_COMPARED_ROWS, replace=False)
    labels = rows[TARGET].to_numpy()[index]
    fit, held = train_test_split(
        index, test_size=HELD_OUT_SHARE, stratify=labels, random_state=seed
    )
    scores: dict[str, float | None] = {}
    for kind in CANDIDATES:
        params = ModelParams(kind=kind, seed=seed)
        fit_params = {} if weights is None else {"model__sample_weight": weights[fit]}
        model = build_model(params).fit(
            fit_input(params, rows.iloc[fit]), rows[TARGET].to_numpy()[fit], **fit_params
        )
        risks = model.predict_proba(fit_input(params, rows.iloc[held]))[:, 1]
        truth = rows[TARGET].to_numpy()[held]
        scores[kind] = compute_metrics(truth, risks, names=("roc_auc",), resamples=0)[
            "roc_auc"
        ].value
    best = max(CANDIDATES, key=lambda kind: _auc_or_floor(scores[kind]))
    said = ", ".join(f"{kind} {_fmt(scores[kind])}" for kind in CANDIDATES)
    reason = (
        f"auto: {len(rows):,} rows, at least {AUTO_HGB_ROWS:,}; best ROC AUC on a held-out "
        f"{HELD_OUT_SHARE:.0%} ({len(held):,} rows, each kind fit on the other {len(fit):,}): "
        f"{said}"
    )
    return Choice("auto", best, reason)


def _auc_or_floor(value: float | None) -> float:
    return -1.0 if value is None else value


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


def ranking_check(
    training_risks: np.ndarray[Any, Any], holdout: Metric, cv: dict[str, Any] | None, rows: int
) -> dict[str, Any]:
    """Whether the model is shown to rank better than chance, with the reason in plain words."""
    if training_risks.size and float(np.ptp(training_risks)) == 0.0:
        reason = (
            f"it gives every one of the {training_risks.size:,} training clients the same risk, "
            f"{training_risks[0]:.1%}: it cannot rank them"
        )
        return {"better_than_chance": False, "reason": reason}
    evidence = [("the holdout", holdout.to_dict(), rows)]
    if cv:
        evidence.append((f"{cv['folds']}-fold cross-validation", cv["roc_auc"], cv["rows"]))
    described = "; ".join(f"{_interval(m)} on {where} ({n:,} rows)" for where, m, n in evidence)
    if any(m["low"] is not None and m["low"] > CHANCE for _, m, _ in evidence):
        return {"better_than_chance": True, "reason": f"ROC AUC {described}"}
    reason = f"ROC AUC {described}: no interval lies above {CHANCE} (chance)"
    return {"better_than_chance": False, "reason": reason}


def _interval(metric: dict[str, Any]) -> str:
    if metric["value"] is None:
        return "undefined"
    if metric["low"] is None or metric["high"] is None:
        return f"{metric['value']:.3f} (no interval)"
    return f"{metric['value']:.3f} [95 % CI {metric['low']:.3f}-{metric['high']:.3f}]"
