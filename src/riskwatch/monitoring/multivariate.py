"""Multivariate drift: a domain classifier told to tell the reference rows from the newest ones.

Per-feature tests miss a change in how features go together (the same marginals, new
combinations). A classifier that tries to tell a reference row from a newest one catches it: its
cross-validated ROC AUC is 0.5 when the two samples come from one distribution, and rises with
any difference it can learn. NannyML's domain classifier does the same with LightGBM; here a small
histogram gradient-boosting model. The threshold is the AUC that label permutations reach: the
out-of-fold scores held fixed, the reference/newest labels shuffled, the AUC recomputed (the
Mann-Whitney null of those scores), and its 99th percentile taken. A batch with fewer rows than
``drift_min_batch_rows``, or than the classifier's own MIN_ROWS, is not judged
(``judged_domain_drift``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from riskwatch.model.metrics import auc_from_rank_sum
from riskwatch.monitoring.drift import not_judged

log = logging.getLogger(__name__)
Array = np.ndarray[Any, Any]

MAX_ROWS = 2_000  # of each side: the AUC's noise is then about 0.01, the cost a few 100 ms
FOLDS = 3
PERMUTATIONS = 200
QUANTILE = 0.99  # a drift flag at most 1 % of the time when nothing changed
MIN_ROWS = 50  # of each side
LABEL = "Multivariate drift (all features together)"


@dataclass(frozen=True)
class DomainDrift:
    """How well a classifier tells the newest rows from the reference rows, and the verdict."""

    auc: float | None  # None when not judged
    threshold: float | None  # the permutation AUC's 99th percentile
    drifted: bool
    n_reference: int  # rows the classifier saw (each side sampled down to MAX_ROWS)
    n_newest: int
    features: list[str]
    method: str = f"histogram gradient boosting, {FOLDS}-fold cross-validated ROC AUC"
    judged: bool = True  # False: too few newest rows to tell drift from noise
    min_rows: int = 0  # newest rows a judgement needs (drift_min_batch_rows)

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return asdict(self)

    def summary(self) -> str:
        """One line in plain words: verdict, AUC against threshold, sample sizes."""
        if not self.judged:
            return f"{LABEL}: {not_judged(self.n_newest, self.min_rows)}"
        verdict = "drifted" if self.drifted else "not drifted"
        return (
            f"{LABEL}: {verdict} — a classifier tells the newest rows from the "
            f"reference with ROC AUC {self.auc:.3f} (threshold {self.threshold:.3f}, from "
            f"{PERMUTATIONS} label permutations; 0.5 = no difference); "
            f"{self.n_reference:,} vs {self.n_newest:,} rows"
        )


def permutation_threshold(scores: Array, newest: int, seed: int) -> float:
    """The AUC that shuffled reference/newest labels reach on these scores, at QUANTILE."""
    rng = np.random.default_rng(seed)
    ranks = rankdata(scores)
    total = len(scores)
    # Each row of the matrix: a random set of `newest` rows called newest (vectorised shuffles).
    chosen = np.argsort(rng.random((PERMUTATIONS, total)), axis=1)[:, :newest]
    aucs = auc_from_rank_sum(ranks[chosen].sum(axis=1), newest, total)
    return float(np.quantile(aucs, QUANTILE))


def _sample(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    if len(frame) <= MAX_ROWS:
        return frame
    return frame.sample(n=MAX_ROWS, random_state=seed)


def judged_domain_drift(
    reference: pd.DataFrame,
    newest: pd.DataFrame,
    features: Sequence[str],
    *,
    min_rows: int,
    seed: int = 0,
) -> DomainDrift | None:
    """domain_drift(), or, below min_rows newest rows (never fewer than the classifier's own
    MIN_ROWS), a result saying it was not judged."""
    min_rows = max(min_rows, MIN_ROWS)
    if len(newest) >= min_rows:
        found = domain_drift(reference, newest, features, seed=seed)
        return dataclasses.replace(found, min_rows=min_rows) if found else None
    columns = [c for c in features if c in reference.columns and c in newest.columns]
    n_reference, n_newest = min(len(reference), MAX_ROWS), len(newest)
    found = DomainDrift(None, None, False, n_reference, n_newest, columns, judged=False)
    return dataclasses.replace(found, min_rows=min_rows)


def domain_drift(
    reference: pd.DataFrame, newest: pd.DataFrame, features: Sequence[str], *, seed: int = 0
) -> DomainDrift | None:
    """The domain classifier's verdict on the newest rows; None when a side has too few rows."""
    columns = [c for c in features if c in reference.columns and c in newest.columns]
    before, after = _sample(reference[columns], seed), _sample(newest[columns], seed)
    if not columns or min(len(before), len(after)) < MIN_ROWS:
        log.debug("no domain classifier: %d vs %d rows", len(before), len(after))
        return None
    x = pd.concat([before, after], ignore_index=True).astype("float64").to_numpy()
    y = np.r_[np.zeros(len(before)), np.ones(len(after))]
    model = HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=8, random_state=seed)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    # One thread: OpenMP threads on a busy machine cost ten times what they save on 4,000 rows.
    with threadpool_limits(limits=1, user_api="openmp"):
        scores = cross_val_predict(model, x, y, cv=folds, method="predict_proba")[:, 1]
    rank_sum = float(rankdata(scores)[len(before) :].sum())
    auc = float(auc_from_rank_sum(rank_sum, len(after), len(scores)))
    threshold = permutation_threshold(scores, len(after), seed)
    return DomainDrift(auc, threshold, auc > threshold, len(before), len(after), columns)
