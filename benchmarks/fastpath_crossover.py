"""Where the API's merged tree stops paying: its time and scikit-learn's, by batch size.

bench_api.py prints this table for the model it serves, timed in its own process with one OpenMP
thread, as `riskwatch serve` runs; riskwatch.model.fastpath.SMALL_BATCH is chosen from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from riskwatch.config import Settings
from riskwatch.ingestion.master import read_master
from riskwatch.model.fastpath import (
    SMALL_BATCH,
    FastModel,
    Trees,
    log_feature_array,
    prepare,
    raw_predictions,
)
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.registry import load_deployed
from riskwatch.schema import FEATURES

SIZES = (1, 4, 16, 64, 256, 512, 1024, 4096)


def best_ms(call: Callable[[], Any], budget: float = 0.3, least: int = 5) -> float:
    """The fastest of repeated calls (ms), at least `least` of them and about budget seconds:
    the least disturbed on a shared machine."""
    best, spent, calls = float("inf"), 0.0, 0
    while spent < budget or calls < least:
        started = time.perf_counter()
        call()
        took = time.perf_counter() - started
        best, spent, calls = min(best, took), spent + took, calls + 1
    return best * 1000


def crossover_lines(settings: Settings) -> list[str]:
    """A Markdown table: the merged tree's and the Pipeline's time for each batch size."""
    model = load_deployed(settings.prod_deployment_path)[1]
    fast = prepare(model)
    trees = fast.trees
    if trees is None:
        return [f"The served model ({type(fast.final).__name__}) has no merged tree."]
    counts = read_master(settings.output_folder_path, columns=list(FEATURES)).to_numpy()
    lines = [
        "| rows | merged tree (ms) | scikit-learn Pipeline (ms) "
        f"| used (SMALL_BATCH {SMALL_BATCH}) |",
        "|---:|---:|---:|---|",
    ]
    with threadpool_limits(1):
        lines += [_row(size, counts, model, fast, trees) for size in SIZES]
    return lines


def _row(size: int, counts: Any, model: Any, fast: FastModel, trees: Trees) -> str:
    """One batch size's line of the table."""
    rows = np.resize(counts, (size, len(FEATURES)))
    frame = pd.DataFrame(rows, columns=list(FEATURES))
    loss = fast.final._loss
    # The merged tree whatever the size, as predict uses it up to SMALL_BATCH rows.
    merged = best_ms(lambda: loss.predict_proba(raw_predictions(trees, log_feature_array(rows))))
    pipeline = best_ms(lambda: predict_risk(model, frame))
    used = "merged tree" if size <= SMALL_BATCH else "scikit-learn"
    return f"| {size:,} | {merged:.3f} | {pipeline:.3f} | {used} |"
