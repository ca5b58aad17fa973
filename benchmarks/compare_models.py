"""Compare the model kinds on a demo workspace, to choose the default model by figures.

Run: .venv/bin/python benchmarks/compare_models.py [--seed 42] [--scenario none]

Every figure is computed here, on a fresh demo workspace in a temporary folder:

* candidates (each built with model.pipeline.build_model, seed 0): classic, logistic,
  hgb, and hgb / logistic wrapped in isotonic calibration (CalibratedClassifierCV, cv=5);
* trained on all monthly drops, and on the first month only;
* scored on the labelled holdout with riskwatch.model.metrics.compute_metrics (95 % bootstrap
  intervals, 1000 resamples), plus the expected calibration error, the mean absolute error
  against the true probabilities (truth/probabilities.csv), E[P@K] (the mean true probability
  of the top K: precision at K without the luck of the labels) and the fit time;
* the "true probability" row scores the generating rule itself: the ceiling of any model;
* paired bootstrap differences against logistic, on the same resampled rows;
* gate noise: logistic and hgb fitted on single months of one world (models of equal quality):
  how often would one of them "beat" another by a given margin on the holdout;
* training window: logistic and hgb trained on all months against the last 3 months, on the
  holdout and on the final month (the newest world); with a drift scenario also on the first
  drifted month, trained on the months before it.

Fit times are the fastest of --repeats fits (default 3); the load average is printed because
other work on the machine slows them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.calibration import CalibratedClassifierCV

from riskwatch.demo.portfolio import PROBABILITY_COLUMN
from riskwatch.demo.workspace import SCENARIOS, create_demo
from riskwatch.model.metrics import METRICS, Metric, compute_metrics
from riskwatch.model.pipeline import ModelParams, build_model, predict_risk
from riskwatch.schema import FEATURES, ID_COLUMN, TARGET

Array = np.ndarray[Any, Any]

MONTHS = 12
K = 100
THRESHOLD = 0.5
RESAMPLES = 1000
BOOTSTRAP_SEED = 0
ECE_BINS = 10
RECENT_MONTHS = 3
GATE_METRICS = ("roc_auc", "pr_auc", "precision_at_k", "brier")
# Margins tried in the gate-noise table, per metric (P@100 moves in steps of 0.01).
MARGINS: dict[str, tuple[float, ...]] = {
    "roc_auc": (0.0, 0.005, 0.01, 0.02),
    "pr_auc": (0.0, 0.005, 0.01, 0.02),
    "precision_at_k": (0.0, 0.01, 0.03, 0.05),
    "brier": (0.0, 0.001, 0.002, 0.005),
}
LABELS = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "precision_at_k": f"P@{K}",
    "recall_at_k": f"R@{K}",
    "brier": "Brier",
}
REFERENCE = "true probability (ceiling)"
WINDOW_METRICS = ("roc_auc", "precision_at_k", "brier")


@dataclass(frozen=True)
class Candidate:
    """A model to compare: its name, how to build it, and whether it takes a bare array."""

    name: str
    build: Callable[[], Any]
    array_input: bool = False


CANDIDATES = (
    Candidate("classic", lambda: build_model(ModelParams(kind="classic", seed=0)), True),
    Candidate("logistic", lambda: build_model(ModelParams(kind="logistic", seed=0))),
    Candidate("hgb", lambda: build_model(ModelParams(kind="hgb", seed=0))),
    Candidate(
        "hgb + isotonic",
        lambda: CalibratedClassifierCV(
            build_model(ModelParams(kind="hgb", seed=0)), method="isotonic", cv=5
        ),
    ),
    Candidate(
        "logistic + isotonic",
        lambda: CalibratedClassifierCV(
            build_model(ModelParams(kind="logistic", seed=0)), method="isotonic", cv=5
        ),
    ),
)


@dataclass(frozen=True)
class Scored:
    """One model's figures on one evaluation set."""

    name: str
    metrics: dict[str, Metric]
    ece: float
    mae: float | None
    expected_top_k: float | None  # mean true probability of the top K: P@K without label luck
    fit_seconds: float | None
    samples: dict[str, Array]  # the metric on each shared bootstrap resample


@dataclass(frozen=True)
class Workspace:
    """The demo data the comparison needs."""

    drops: list[pd.DataFrame]
    holdout: pd.DataFrame
    holdout_truth: Array | None
    truth: pd.DataFrame | None  # truth/probabilities.csv: month (0 = holdout), id, probability
    drift_month: int | None


def load_workspace(directory: Path, seed: int, scenario: str) -> Workspace:
    """Create the demo workspace and read its drops, holdout and true probabilities."""
    summary = create_demo(directory, months=MONTHS, seed=seed, scenario=scenario)
    drops = [pd.read_csv(path) for path in sorted((directory / "drops").glob("month_*.csv"))]
    holdout = pd.read_csv(directory / "testdata" / "testdata.csv")
    truth_file = directory / "truth" / "probabilities.csv"
    truth = pd.read_csv(truth_file) if truth_file.exists() else None
    holdout_truth = None if truth is None else _aligned_truth(truth[truth["month"] == 0], holdout)
    return Workspace(drops, holdout, holdout_truth, truth, summary.drift_month)


def month_truth(ws: Workspace, month: int) -> Array | None:
    """The true probability of each row of drop ``month`` (1-based), if the truth is there."""
    if ws.truth is None:
        return None
    return _aligned_truth(ws.truth[ws.truth["month"] == month], ws.drops[month - 1])


def _aligned_truth(truth: pd.DataFrame, frame: pd.DataFrame) -> Array | None:
    """The true probability of each row of ``frame`` (matched by id), or None if any is missing."""
    by_id = truth.set_index(ID_COLUMN)[PROBABILITY_COLUMN]
    if not by_id.index.is_unique:
        return None
    aligned = by_id.reindex(frame[ID_COLUMN])
    return None if aligned.isna().any() else aligned.to_numpy(dtype="float64")


def fit(candidate: Candidate, frame: pd.DataFrame, repeats: int = 1) -> tuple[Any, float]:
    """Fit the candidate on the frame; return the model and the fastest of ``repeats`` fit
    times in seconds (the minimum is the figure least disturbed by other load)."""
    features = frame[list(FEATURES)]
    inputs = features.to_numpy() if candidate.array_input else features
    labels = frame[TARGET].to_numpy()
    times = []
    for _ in range(max(1, repeats)):
        model = candidate.build()
        start = time.perf_counter()
        model.fit(inputs, labels)
        times.append(time.perf_counter() - start)
    return model, min(times)


def expected_calibration_error(labels: Array, risks: Array, bins: int = ECE_BINS) -> float:
    """Weighted mean |mean risk - exit rate| over equal-width risk bins."""
    index = np.minimum((risks * bins).astype("int64"), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = index == b
        if mask.any():
            total += mask.mean() * abs(risks[mask].mean() - labels[mask].mean())
    return float(total)


def resample_rows(n: int) -> Array:
    """The bootstrap resamples (row indices) shared by every model, for paired differences."""
    return np.random.default_rng(BOOTSTRAP_SEED).integers(0, n, size=(RESAMPLES, n))


def score(
    name: str,
    labels: Array,
    risks: Array,
    *,
    rows: Array,
    truth: Array | None,
    fit_seconds: float | None = None,
) -> Scored:
    """Every figure of one model's risks on one labelled set."""
    metrics = compute_metrics(
        labels, risks, threshold=THRESHOLD, k=K, resamples=RESAMPLES, seed=BOOTSTRAP_SEED
    )
    y, s = labels.astype("int8")[rows], risks[rows]
    samples = {m: METRICS[m](y, s, THRESHOLD, K) for m in GATE_METRICS}
    mae = expected_top_k = None
    if truth is not None:
        mae = float(np.abs(risks - truth).mean())
        top = np.argsort(-risks, kind="stable")[:K]
        expected_top_k = float(truth[top].mean())
    ece = expected_calibration_error(labels, risks)
    return Scored(name, metrics, ece, mae, expected_top_k, fit_seconds, samples)


def compare(ws: Workspace, train: pd.DataFrame, repeats: int) -> list[Scored]:
    """Fit every candidate on ``train`` and score it on the holdout; the ceiling comes first."""
    labels = ws.holdout[TARGET].to_numpy()
    rows = resample_rows(len(labels))
    results = []
    if ws.holdout_truth is not None:
        results.append(
            score(REFERENCE, labels, ws.holdout_truth, rows=rows, truth=ws.holdout_truth)
        )
    for candidate in CANDIDATES:
        model, seconds = fit(candidate, train, repeats)
        risks = predict_risk(model, ws.holdout)
        results.append(
            score(
                candidate.name,
                labels,
                risks,
                rows=rows,
                truth=ws.holdout_truth,
                fit_seconds=seconds,
            )
        )
    return results


def _interval(metric: Metric) -> str:
    if metric.value is None:
        return "n/a"
    if metric.low is None or metric.high is None:
        return f"{metric.value:.3f}"
    return f"{metric.value:.3f} [{metric.low:.3f}, {metric.high:.3f}]"


def results_table(results: list[Scored]) -> str:
    """The comparison as a Markdown table, 95 % bootstrap intervals in brackets."""
    names = ("roc_auc", "pr_auc", "precision_at_k", "recall_at_k", "brier")
    header = [
        "Model",
        *(LABELS[n] for n in names),
        f"E[P@{K}]",
        "ECE",
        "MAE vs true p",
        "Fit (s)",
    ]
    lines = [_row(header), _row(["---"] + ["---:"] * (len(header) - 1))]
    for r in results:
        cells = [_interval(r.metrics[n]) for n in names]
        seconds = "-" if r.fit_seconds is None else f"{r.fit_seconds:.2f}"
        truth_cells = [_optional(r.expected_top_k, 3), f"{r.ece:.4f}", _optional(r.mae, 4)]
        lines.append(_row([r.name, *cells, *truth_cells, seconds]))
    return "\n".join(lines)


def paired_table(results: list[Scored], baseline: str = "logistic") -> str:
    """Each model minus the baseline on the same resamples: point difference [95 % interval]."""
    base = next(r for r in results if r.name == baseline)
    header = ["Model - " + baseline, *(LABELS[m] for m in GATE_METRICS)]
    lines = [_row(header), _row(["---"] + ["---:"] * len(GATE_METRICS))]
    for r in results:
        if r.name == baseline:
            continue
        cells = []
        for m in GATE_METRICS:
            point = _difference(r.metrics[m], base.metrics[m])
            low, high = np.nanpercentile(r.samples[m] - base.samples[m], [2.5, 97.5])
            cells.append(f"{point:+.4f} [{low:+.4f}, {high:+.4f}]")
        lines.append(_row([r.name, *cells]))
    return "\n".join(lines)


def _difference(a: Metric, b: Metric) -> float:
    if a.value is None or b.value is None:
        return float("nan")
    return a.value - b.value


def _optional(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def gate_noise(ws: Workspace, kinds: tuple[str, ...] = ("logistic", "hgb")) -> str:
    """Each kind fitted on single months of the holdout's world: models of equal quality, so
    any gate win between two of them is noise.  Reports widths and false-promotion rates."""
    months = len(ws.drops) if ws.drift_month is None else ws.drift_month - 1
    if months < 3:
        return "(too few months before the drift for the gate-noise table)"
    labels = ws.holdout[TARGET].to_numpy()
    rows = resample_rows(len(labels))
    pairs = list(itertools.permutations(range(months), 2))
    header = [
        "Kind",
        "Gate metric",
        "values (min-max)",
        "95 % CI width",
        "paired diff CI width",
        "false promotions at margin",
    ]
    lines = [_row(header), _row(["---", "---", "---:", "---:", "---:", "---"])]
    for kind in kinds:
        candidate = next(c for c in CANDIDATES if c.name == kind)
        scored = []
        for month in range(months):
            model, _ = fit(candidate, ws.drops[month])
            risks = predict_risk(model, ws.holdout)
            scored.append(score(f"month {month + 1}", labels, risks, rows=rows, truth=None))
        for m in GATE_METRICS:
            lines.append(_row([kind, LABELS[m], *_noise_cells(scored, m, pairs)]))
    note = (
        f"Each kind fitted on each of months 1-{months} alone ({months} models of equal quality"
        f" per kind, {len(pairs)} ordered challenger/production pairs). Widths are medians; a"
        " false promotion is a challenger at least `margin` better (Brier: lower) on the holdout."
    )
    return note + "\n\n" + "\n".join(lines)


def _noise_cells(scored: list[Scored], metric: str, pairs: list[tuple[int, int]]) -> list[str]:
    """Spread, interval widths and false-promotion rates of one metric over equal models."""
    values = np.array([s.metrics[metric].value for s in scored], dtype="float64")
    widths = [_width(s.metrics[metric]) for s in scored]
    paired = [
        np.subtract(
            *np.nanpercentile(scored[i].samples[metric] - scored[j].samples[metric], [97.5, 2.5])
        )
        for i, j in pairs
    ]
    sign = -1.0 if metric == "brier" else 1.0
    rates = []
    for margin in MARGINS[metric]:
        wins = sum(sign * (values[i] - values[j]) >= margin - 1e-12 for i, j in pairs)
        rates.append(f"{margin:g}: {wins / len(pairs):.0%}")
    return [
        f"{values.min():.3f}-{values.max():.3f}",
        f"{np.median(widths):.3f}",
        f"{np.median(paired):.4f}",
        ", ".join(rates),
    ]


def _width(metric: Metric) -> float:
    if metric.low is None or metric.high is None:
        return float("nan")
    return metric.high - metric.low


def window_table(ws: Workspace, kinds: tuple[str, ...] = ("logistic", "hgb")) -> str:
    """Each kind trained on all months against the last months, scored on the holdout and on
    the final month (the newest world; those models do not see the final month).  With a drift,
    also on the first drifted month, trained on every month before it (the world has just
    changed under the production model)."""
    n = len(ws.drops)
    recent = f"last {RECENT_MONTHS}"
    evaluations: list[tuple[str, pd.DataFrame, Array | None, dict[str, list[pd.DataFrame]]]] = [
        (
            "holdout (month-1 world)",
            ws.holdout,
            ws.holdout_truth,
            {
                f"all months (1-{n})": ws.drops,
                f"{recent} months ({n - RECENT_MONTHS + 1}-{n})": ws.drops[-RECENT_MONTHS:],
            },
        ),
        (
            f"month {n} (newest world)",
            ws.drops[-1],
            month_truth(ws, n),
            {
                f"all earlier months (1-{n - 1})": ws.drops[:-1],
                f"{recent} earlier months ({n - RECENT_MONTHS}-{n - 1})": ws.drops[
                    -RECENT_MONTHS - 1 : -1
                ],
            },
        ),
    ]
    drift = ws.drift_month
    if drift is not None and drift < n:
        evaluations.append(
            (
                f"month {drift} (first drifted month)",
                ws.drops[drift - 1],
                month_truth(ws, drift),
                {f"months before it (1-{drift - 1})": ws.drops[: drift - 1]},
            )
        )
    header = [
        "Evaluated on",
        "Model",
        "Trained on",
        "ROC AUC",
        f"P@{K}",
        f"E[P@{K}]",
        "Brier",
        "MAE vs true p",
    ]
    lines = [_row(header), _row(["---", "---", "---", "---:", "---:", "---:", "---:", "---:"])]
    for target, frame, truth, trainings in evaluations:
        labels = frame[TARGET].to_numpy()
        rows = resample_rows(len(labels))
        for kind in kinds:
            candidate = next(c for c in CANDIDATES if c.name == kind)
            for label, frames in trainings.items():
                model, _ = fit(candidate, pd.concat(frames, ignore_index=True))
                risks = predict_risk(model, frame)
                r = score(label, labels, risks, rows=rows, truth=truth)
                auc, p_at_k, brier = (_interval(r.metrics[m]) for m in WINDOW_METRICS)
                expected = _optional(r.expected_top_k, 3)
                cells = [auc, p_at_k, expected, brier, _optional(r.mae, 4)]
                lines.append(_row([target, kind, label, *cells]))
    return "\n".join(lines)


def machine_line(seed: int, scenario: str) -> str:
    """Where and when the figures were measured."""
    return (
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()},"
        f" Python {platform.python_version()}, scikit-learn {sklearn.__version__};"
        f" date {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; seed {seed}; scenario {scenario};"
        f" load average at start {_load()}"
    )


def _load() -> str:
    """The 1-minute load average: other work on the machine slows the fit times."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42, help="demo data seed")
    parser.add_argument("--scenario", choices=SCENARIOS, default="none", help="demo scenario")
    parser.add_argument(
        "--repeats", type=int, default=3, help="fits per candidate; the fastest time is reported"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    print(machine_line(args.seed, args.scenario))
    with tempfile.TemporaryDirectory(prefix="riskwatch-compare-") as folder:
        ws = load_workspace(Path(folder) / "workspace", args.seed, args.scenario)
    labels = ws.holdout[TARGET].to_numpy()
    drift = "none" if ws.drift_month is None else f"month {ws.drift_month}"
    print(
        f"\nHoldout: {len(labels):,} rows, base rate {labels.mean():.3f}; drift: {drift};"
        f" K = {K}; intervals: 95 % bootstrap, {RESAMPLES} resamples;"
        f" fit time: fastest of {args.repeats}."
    )
    trainings = {
        f"all {len(ws.drops)} months": pd.concat(ws.drops, ignore_index=True),
        "first month only": ws.drops[0],
    }
    for label, train in trainings.items():
        rate = train[TARGET].mean()
        print(f"\n### Trained on {label} ({len(train):,} rows, exit rate {rate:.3f})\n")
        results = compare(ws, train, args.repeats)
        print(results_table(results))
        print(f"\nPaired differences against logistic (trained on {label}):\n")
        print(paired_table(results))
    print("\n### Gate noise\n")
    print(gate_noise(ws))
    print(f"\n### Training window: all months against the last {RECENT_MONTHS}\n")
    print(window_table(ws))
    print(f"\nRuntime: {time.perf_counter() - start:.1f} s; load average at end {_load()}")


if __name__ == "__main__":
    main()
