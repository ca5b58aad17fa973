"""Where the API's numpy tree walk stops paying: its time and scikit-learn's by batch size.

bench_api.py prints this table for the model it serves (in this process, one thread at a time as
the API's requests run); riskwatch.model.fastpath.SMALL_BATCH is chosen from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.config import Settings
from riskwatch.ingestion.master import read_master
from riskwatch.model.fastpath import SMALL_BATCH, log_feature_array, prepare, raw_predictions
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.registry import load_deployed
from riskwatch.schema import FEATURES

SIZES = (1, 4, 16, 64, 128, 256, 1024, 4096)


def best_ms(call: Callable[[], Any], budget: float = 0.3) -> float:
    """The fastest of repeated calls (ms), within about budget seconds: the least disturbed."""
    best, spent = float("inf"), 0.0
    while spent < budget or best == float("inf"):
        started = time.perf_counter()
        call()
        took = time.perf_counter() - started
        best, spent = min(best, took), spent + took
    return best * 1000


def crossover_lines(settings: Settings) -> list[str]:
    """A Markdown table: the walk's and the Pipeline's time for each batch size."""
    model = load_deployed(settings.prod_deployment_path)[1]
    fast = prepare(model)
    trees = fast.trees
    if trees is None:
        return [f"The served model ({type(fast.final).__name__}) has no tree walk."]
    loss = fast.final._loss
    counts = read_master(settings.output_folder_path, columns=list(FEATURES)).to_numpy()
    lines = [
        f"| rows | numpy walk (ms) | scikit-learn Pipeline (ms) | used (SMALL_BATCH {SMALL_BATCH}) "
        "|",
        "|---:|---:|---:|---|",
    ]
    for size in SIZES:
        rows = np.resize(counts, (size, len(FEATURES)))
        frame = pd.DataFrame(rows, columns=list(FEATURES))
        features = log_feature_array(rows)
        walk = best_ms(lambda f=features: loss.predict_proba(raw_predictions(trees, f)))
        pipeline = best_ms(lambda f=frame: predict_risk(model, f))
        used = "walk" if size <= SMALL_BATCH else "scikit-learn"
        lines.append(f"| {size:,} | {walk:.3f} | {pipeline:.3f} | {used} |")
    return lines
