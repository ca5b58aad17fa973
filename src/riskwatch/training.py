"""Training: choose the training rows, fit the model, score it on the holdout, save a version."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from riskwatch.config import Settings, TrainingWindow
from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.datasets import read_labelled
from riskwatch.ingestion.master import read_master
from riskwatch.model.choice import Choice, choose_kind, cross_validate, ranking_check
from riskwatch.model.metrics import Metric
from riskwatch.model.pipeline import ModelParams, build_model, fit_input, predict_risk
from riskwatch.model.registry import package_versions, save_version
from riskwatch.monitoring.evidence import Holdout, score_holdout
from riskwatch.schema import BATCH_COLUMN, FEATURES, ID_COLUMN, REQUIRED, TARGET
from riskwatch.storage.clock import utcnow
from riskwatch.storage.store import Store, batches, models

MIN_ROWS = 10
REFERENCE_ROWS = 10_000  # a sample of the training data kept with each version (drift reference)


class TrainingError(RiskwatchError):
    """Data a model cannot be trained on; nothing is changed."""


@dataclass(frozen=True)
class TrainResult:
    """A newly saved version and what was recorded with it."""

    version: str
    metadata: dict[str, Any]
    # The new model's holdout predictions and metrics, as recorded: a cycle that deploys it
    # hands them to its report instead of scoring the same model on the same rows again.
    holdout: Holdout | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return {"version": self.version, **self.metadata}


def check_training_data(frame: pd.DataFrame) -> None:
    """Refuse data no useful model can be trained on, with the reason."""
    missing = [c for c in (*FEATURES, TARGET) if c not in frame.columns]
    if missing:
        raise TrainingError(f"training data lacks the column(s) {', '.join(missing)}")
    if len(frame) < MIN_ROWS:
        raise TrainingError(f"training data has {len(frame)} rows; at least {MIN_ROWS} are needed")
    classes = sorted(frame[TARGET].unique().tolist())
    if len(classes) < 2:
        raise TrainingError(
            f"training data has only {TARGET} = {classes[0]}: both classes are needed"
        )


def train_model(
    frame: pd.DataFrame, params: ModelParams, sample_weight: np.ndarray[Any, Any] | None = None
) -> Pipeline:
    """Fit a fresh Pipeline on the frame's features and target, rows optionally weighted."""
    check_training_data(frame)
    model = build_model(params)
    fit_params = {} if sample_weight is None else {"model__sample_weight": sample_weight}
    model.fit(fit_input(params, frame), frame[TARGET].to_numpy(), **fit_params)
    return model


def fit_chosen(
    settings: Settings,
    rows: pd.DataFrame,
    weights: np.ndarray[Any, Any] | None,
    choice: Choice | None = None,
) -> tuple[Pipeline, Choice]:
    """Choose the model kind on the rows (model_kind, or `auto`), or take the choice given,
    and fit it."""
    check_training_data(rows)  # before cross-validating: the same clear reasons
    with threadpool_limits(limits=fit_threads()):
        choice = choice or _choose(settings, rows, weights)
        model = train_model(rows, ModelParams(kind=choice.kind, seed=settings.model_seed), weights)
    return model, choice


def chosen_kind(settings: Settings, rows: pd.DataFrame) -> Choice:
    """The kind model_kind (or `auto`) chooses on the rows, fitting no model to keep: for fits
    of other rows that share one choice."""
    check_training_data(rows)
    with threadpool_limits(limits=fit_threads()):
        return _choose(settings, rows, None)


def _choose(settings: Settings, rows: pd.DataFrame, weights: np.ndarray[Any, Any] | None) -> Choice:
    return choose_kind(
        settings.model_kind,
        rows,
        seed=settings.model_seed,
        weights=weights,
        resamples=settings.bootstrap_resamples,
    )


def fit_threads() -> int | None:
    """OpenMP and BLAS threads for fitting: one when no core is idle (the load average reaches
    the cores), else None (scikit-learn's default, a thread per core); the models are the same."""
    # hgb waits for every thread at each of its many parallel steps: on a 2-core machine at
    # load 18-23, one fit on 20,000 rows took 0.8-1.1 s with one thread and 33-109 s with two.
    # logistic's BLAS threads likewise: at load 6, a fit on 15,000 rows took a median 0.26 s
    # (0.12 s of CPU) with two and 0.07 s (0.035 s) with one.
    try:
        load = os.getloadavg()[0]
    except OSError:  # no load average on this system
        return None
    return 1 if load >= (os.cpu_count() or 1) else None


def select_training_rows(
    frame: pd.DataFrame, *, window: str, recent_batches: int, half_life: float
) -> tuple[pd.DataFrame, np.ndarray[Any, Any] | None]:
    """The rows to train on and their weights: all, the last N batches, or decaying weights."""
    if window == "all":
        return frame, None
    if BATCH_COLUMN not in frame.columns:
        raise TrainingError(
            f"training_window = {window} needs the master dataset's {BATCH_COLUMN} column; this "
            "one has none (written by another tool?): re-ingest, or use training_window = all"
        )
    order = np.sort(frame[BATCH_COLUMN].unique())
    if window == "recent":
        return frame[frame[BATCH_COLUMN].isin(order[-recent_batches:])], None
    # Age 0 is the newest batch; a row's weight halves every half_life batches of age.
    age = len(order) - 1 - np.searchsorted(order, frame[BATCH_COLUMN].to_numpy())
    return frame, np.power(0.5, age / half_life)


def fingerprint(frame: pd.DataFrame) -> str:
    """A sha256 of the training rows' values (the same data gives the same fingerprint)."""
    hashed = pd.util.hash_pandas_object(frame[list(REQUIRED)], index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()


def choice_key(printed: str, seed: int) -> str:
    """What a choice of kind depends on: the unweighted rows (their fingerprint) and the seed."""
    return f"{printed}/seed {seed}"


def reference_profile(frame: pd.DataFrame) -> dict[str, Any]:
    """Medians and percentiles of each feature: what 'typical' means for the call-list reasons."""
    values = frame[list(FEATURES)].astype("float64")
    return {
        "medians": {c: float(values[c].median()) for c in FEATURES},
        "percentiles": {c: np.percentile(values[c], np.arange(101)).tolist() for c in FEATURES},
    }


def train_version(
    settings: Settings,
    store: Store,
    *,
    master: pd.DataFrame | None = None,
    window: TrainingWindow | None = None,
    choice: Choice | None = None,
) -> TrainResult:
    """Train on the master dataset (or the rows given), score on the holdout, save a version
    (of the kind chosen on the training rows, or of the choice given)."""
    if window is not None:  # a retrain may choose its own window; the record says which
        settings = dataclasses.replace(settings, training_window=window)
    if master is None:
        master = read_master(settings.output_folder_path)
    if master.empty:
        raise TrainingError(
            f"no data in {settings.output_folder_path}: run `riskwatch ingest` first"
        )
    rows, weights = select_training_rows(
        master,
        window=settings.training_window,
        recent_batches=settings.training_recent_batches,
        half_life=settings.training_half_life_batches,
    )
    holdout = read_labelled(settings.test_data_path)  # read first: a bad holdout stops early
    started = time.perf_counter()
    given = choice
    model, choice = fit_chosen(settings, rows, weights, choice)
    seconds = time.perf_counter() - started
    printed = fingerprint(rows)
    if given is None and weights is None:  # chosen here, on these rows
        choice = dataclasses.replace(choice, chosen_on=choice_key(printed, settings.model_seed))
    params = ModelParams(kind=choice.kind, seed=settings.model_seed)
    scored = score_holdout(settings, model, holdout)
    metrics = scored.metrics
    metadata: dict[str, Any] = {
        "created_at": utcnow(),
        "kind": params.kind,
        "params": params.to_dict(),
        "choice": choice.to_dict(),
        "ranking": _ranking(
            settings, model, (rows, weights), (metrics["roc_auc"], len(holdout)), choice
        ),
        "training": _training_record(settings, store, (rows, weights), printed, seconds),
        "metrics": {"holdout": {name: m.to_dict() for name, m in metrics.items()}},
        "holdout": {"path": str(settings.test_data_path), "rows": len(holdout)},
        "threshold": settings.decision_threshold,
        "call_list_capacity": settings.call_list_capacity,
        "reference": reference_profile(rows),
        "packages": package_versions(),
    }
    sample = rows[list(REQUIRED)].sample(
        n=min(REFERENCE_ROWS, len(rows)), random_state=settings.model_seed
    )
    saved: dict[str, Any] = save_version(settings.output_model_path, model, metadata, sample)
    version = saved["version"]
    store.add(
        models,
        version=version,
        created_at=metadata["created_at"],
        kind=params.kind,
        params=params.to_dict(),
        training_rows=len(rows),
        fingerprint=metadata["training"]["fingerprint"],
        sha256=saved["sha256"],
        metrics=metadata["metrics"],
    )
    return TrainResult(version, saved, dataclasses.replace(scored, sha256=saved["sha256"]))


def _ranking(
    settings: Settings,
    model: Pipeline,
    training: tuple[pd.DataFrame, np.ndarray[Any, Any] | None],
    holdout: tuple[Metric, int],
    choice: Choice,
) -> dict[str, Any]:
    """Whether the trained model ranks better than chance, on the holdout and its own CV."""
    rows, weights = training
    # A model that cannot split gives one risk to everyone: a sample shows it as well as all
    # rows, without scoring 100,000+ rows on every retrain.
    checked = rows if len(rows) <= REFERENCE_ROWS else rows.sample(REFERENCE_ROWS, random_state=0)
    risks = predict_risk(model, checked)
    cv = choice.cv.get(choice.kind)
    verdict = ranking_check(risks, holdout[0], cv, holdout[1])
    if verdict["better_than_chance"] or cv is not None:
        return verdict
    # Large data is not cross-validated to choose, but a small holdout may not show what the
    # model does: its own cross-validation is asked before it is called no better than chance.
    cv = cross_validate(
        rows,
        (choice.kind,),
        seed=settings.model_seed,
        weights=weights,
        resamples=settings.bootstrap_resamples,
    ).get(choice.kind)
    return ranking_check(risks, holdout[0], cv, holdout[1])


def _training_record(
    settings: Settings,
    store: Store,
    training: tuple[pd.DataFrame, np.ndarray[Any, Any] | None],
    printed: str,
    seconds: float,
) -> dict[str, Any]:
    """What the model was trained on: rows, clients, batches by name, window, fingerprint."""
    rows, weights = training
    ids = sorted(int(b) for b in rows[BATCH_COLUMN].unique()) if BATCH_COLUMN in rows else []
    names = {b["id"]: b["name"] for b in store.rows(batches) if b["id"] in set(ids)}
    return {
        "rows": len(rows),
        "clients": int(rows[ID_COLUMN].nunique()),
        "exit_rate": float(rows[TARGET].mean()),
        "batches": [names.get(b, str(b)) for b in ids],
        "batch_ids": ids,
        "window": settings.training_window,
        "weighted": weights is not None,
        "fingerprint": printed,
        "seconds": round(seconds, 3),
    }
