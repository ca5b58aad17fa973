"""Where does `hgb` start to beat `logistic`? Holdout ROC AUC by training size, on demo data.

Run: .venv/bin/python benchmarks/model_by_size.py [--seed 42] [--draws 5]

A demo workspace (10,000 clients, month 1) is made in a temporary folder. For each size, `draws`
random samples of month 1 are drawn; each kind is fitted on the sample (riskwatch.model.pipeline,
model seed 0) and scored on the 2,000-row holdout (ROC AUC). The table gives the mean over the
draws and how often `hgb` ranked better than `logistic`; the last column is the time the `auto`
choice's cross-validation of the three kinds takes at that size (riskwatch.training).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from riskwatch.demo.workspace import create_demo
from riskwatch.model.choice import cross_validate
from riskwatch.model.metrics import compute_metrics
from riskwatch.model.pipeline import ModelParams, build_model, predict_risk
from riskwatch.schema import FEATURES, TARGET

SIZES = (100, 250, 500, 1000, 2000, 3000, 5000, 10_000)
KINDS = ("hgb", "logistic", "classic")


def holdout_scores(kind: str, rows: pd.DataFrame, holdout: pd.DataFrame) -> tuple[float, float]:
    """The holdout ROC AUC and precision among the 100 riskiest of one kind fitted on the rows."""
    model = build_model(ModelParams(kind=kind))
    features = rows[list(FEATURES)]
    model.fit(features if kind != "classic" else features.to_numpy(), rows[TARGET].to_numpy())
    risks = predict_risk(model, holdout)
    names = ("roc_auc", "precision_at_k")
    value = compute_metrics(holdout[TARGET].to_numpy(), risks, names=names, resamples=0, k=100)
    return float(value["roc_auc"].value or 0.0), float(value["precision_at_k"].value or 0.0)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=SIZES)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        create_demo(Path(tmp), months=1, seed=args.seed, clients=10_000)
        month = pd.concat(pd.read_csv(p) for p in sorted(Path(tmp, "sourcedata").glob("*.csv")))
        holdout = pd.concat(pd.read_csv(p) for p in sorted(Path(tmp, "testdata").glob("*.csv")))
    print(f"# ROC AUC by training size (demo seed {args.seed}, {args.draws} draws per size)\n")
    print(
        "| rows | ROC AUC hgb | logistic | classic | hgb better | P@100 hgb | logistic "
        "| CV of 3 kinds (s) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in args.sizes:
        scores: dict[str, list[float]] = {kind: [] for kind in KINDS}
        top: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for draw in range(args.draws if size < len(month) else 1):
            rows = month.sample(n=min(size, len(month)), random_state=draw)
            for kind in KINDS:
                auc, precision = holdout_scores(kind, rows, holdout)
                scores[kind].append(auc)
                top[kind].append(precision)
        wins = sum(h > g for h, g in zip(scores["hgb"], scores["logistic"], strict=True))
        started = time.perf_counter()
        cross_validate(month.sample(n=min(size, len(month)), random_state=0), KINDS, seed=0)
        cv_seconds = time.perf_counter() - started
        means = " | ".join(f"{np.mean(scores[k]):.3f}" for k in KINDS)
        tops = " | ".join(f"{np.mean(top[k]):.2f}" for k in ("hgb", "logistic"))
        print(f"| {size:,} | {means} | {wins}/{len(scores['hgb'])} | {tops} | {cv_seconds:.1f} |")


if __name__ == "__main__":
    main()
