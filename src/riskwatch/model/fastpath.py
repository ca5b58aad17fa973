"""Predictions without the Pipeline's fixed cost per call, identical to its own probabilities.

scikit-learn's Pipeline spends about a millisecond a call on a one-row DataFrame for the feature
step, and HistGradientBoostingClassifier another one or two calling its compiled predictor once
for each of its 200 trees. For the API, where one client waits, `prepare` derives at load time
what the model needs: the features in numpy (log_features' arithmetic, bit for bit) and, for
gradient boosting, its trees merged into one, so that one call of the same compiled predictor
gives every tree's leaf for every row (the same leaves: the same code compares the same values).
Large batches go to scikit-learn's own predict, faster there: the merged tree repeats each row
once a tree (SMALL_BATCH, measured in bench_api.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from riskwatch.model.pipeline import log_features, predict_risk
from riskwatch.schema import FEATURES

Array = np.ndarray[Any, Any]
# Rows (clients and their reasons' variants) up to which the merged tree beats scikit-learn's
# predict: scikit-learn pays a fixed cost a tree, the merged tree a copy of each row a tree.
SMALL_BATCH = 256
# Rows from which predict_repeated predicts each distinct row once: below, sorting them costs
# more than it saves.
DISTINCT_FROM = 1024
Order = Literal["C", "F"]
MONTH, YEAR = FEATURES.index("lastmonth_activity"), FEATURES.index("lastyear_activity")


@dataclass(frozen=True)
class Trees:
    """A fitted binary HistGradientBoostingClassifier's trees merged into one tree that
    scikit-learn's own compiled predictor walks: a few splits on a tree-number column lead to
    each tree's root, so one call gives every (row, tree) pair's leaf."""

    merged: TreePredictor
    known_categories: Array  # what scikit-learn passes its predictor (empty: no categories)
    feature_map: Array
    numbers: Array  # the trees' numbers, 0 to count - 1, as the tree-number column's values
    baseline: float  # the raw prediction before any tree


def compile_trees(model: HistGradientBoostingClassifier) -> Trees | None:
    """The model's trees merged for one predictor call; None when it has what the merge does
    not do (categorical splits, more than one tree per iteration)."""
    if model.n_trees_per_iteration_ != 1 or model.is_categorical_ is not None:
        return None
    trees = [iteration[0].nodes for iteration in model._predictors]
    if any(nodes["is_categorical"].any() for nodes in trees):
        return None
    column = int(model.n_features_in_)  # the tree-number column, after the features
    splits: list[tuple[float, int, int]] = []  # threshold, left, right (-1 - n: tree n's root)

    def split(low: int, high: int) -> int:
        if high - low == 1:
            return -1 - low
        here = len(splits)
        splits.append((0.0, 0, 0))
        middle = (low + high) // 2
        splits[here] = (middle - 0.5, split(low, middle), split(middle, high))
        return here

    split(0, len(trees))
    sizes = [len(nodes) for nodes in trees]
    roots = len(splits) + np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    merged = np.zeros(len(splits) + sum(sizes), dtype=PREDICTOR_RECORD_DTYPE)
    for at, (threshold, left, right) in enumerate(splits):
        merged[at]["feature_idx"], merged[at]["num_threshold"] = column, threshold
        merged[at]["left"] = left if left >= 0 else roots[-1 - left]
        merged[at]["right"] = right if right >= 0 else roots[-1 - right]
    for root, nodes in zip(roots, trees, strict=True):
        part = nodes.copy()
        inner = part["is_leaf"] == 0
        part["left"][inner] += np.uint32(root)
        part["right"][inner] += np.uint32(root)
        merged[root : root + len(nodes)] = part
    no_bitsets = np.zeros((0, 8), dtype=np.uint32)
    known, feature_map = model._bin_mapper.make_known_categories_bitsets()
    return Trees(
        merged=TreePredictor(merged, no_bitsets, no_bitsets),
        known_categories=known,
        feature_map=feature_map,
        numbers=np.arange(len(trees), dtype="float64"),
        baseline=float(model._baseline_prediction[0, 0]),
    )


def raw_predictions(trees: Trees, features: Array) -> Array:
    """Each row's raw prediction: the baseline plus its leaf in every tree."""
    rows, width = features.shape
    count = len(trees.numbers)
    pairs = np.empty((rows * count, width + 1))  # each row once a tree, with the tree's number
    pairs[:, :width] = np.repeat(features, count, axis=0)
    pairs[:, width] = np.tile(trees.numbers, rows)
    leaves = trees.merged.predict(pairs, trees.known_categories, trees.feature_map, 1)
    # Added up one tree after another from the baseline, as scikit-learn does: a sum in
    # another order (np.sum's pairwise one) can differ in the last bit.
    terms = np.empty((rows, count + 1))
    terms[:, 0] = trees.baseline
    terms[:, 1:] = leaves.reshape(rows, count)
    return np.asarray(np.cumsum(terms, axis=1)[:, -1])


@dataclass(frozen=True)
class Linear:
    """A fitted binary LogisticRegression, and the StandardScaler before it if any, as arrays."""

    coef: Array  # coef_.T: one column
    intercept: Array
    mean: Array | None  # the scaler's (None: no scaler, or one without centring)
    scale: Array | None
    order: Order  # the memory order of the rows scikit-learn's arithmetic sees: "C" or "F"

    def predict(self, rows: Array) -> Array:
        """Each row's probability, as predict_proba's second column (rows already features)."""
        rows = np.array(rows, dtype="float64", order=self.order)  # a copy: changed in place
        # The order of scikit-learn's own operations (StandardScaler.transform, then
        # decision_function and expit): a product's bits can depend on the memory order.
        if self.mean is not None:
            rows -= self.mean
        if self.scale is not None:
            rows /= self.scale
        scores = (rows @ self.coef + self.intercept).reshape(-1)
        return np.asarray(expit(scores, out=scores), dtype="float64")


def compile_linear(steps: list[Any], order: Order) -> Linear | None:
    """The steps (an optional StandardScaler, then a LogisticRegression) as a Linear; None when
    they are anything else (more classes, other steps)."""
    *before, final = steps
    if not isinstance(final, LogisticRegression) or len(final.classes_) != 2:
        return None
    mean = scale = None
    if before:
        scaler = before[0]
        if len(before) > 1 or type(scaler) is not StandardScaler:
            return None
        mean = np.asarray(scaler.mean_, dtype="float64") if scaler.with_mean else None
        scale = np.asarray(scaler.scale_, dtype="float64") if scaler.with_std else None
    coef = np.asarray(final.coef_, dtype="float64").T
    return Linear(coef, np.asarray(final.intercept_, dtype="float64"), mean, scale, order)


def log_feature_array(counts: Array, order: Order = "C") -> Array:
    """log_features' columns from the counts (FEATURES order), in numpy, bit for bit."""
    counts = np.asarray(counts, dtype="float64")
    out = np.empty((len(counts), len(FEATURES) + 1), order=order)
    out[:, : len(FEATURES)] = np.log1p(counts)
    out[:, len(FEATURES)] = np.log1p(counts[:, MONTH]) - np.log1p(counts[:, YEAR] / 12)
    return out


@dataclass(frozen=True)
class FastModel:
    """A fitted Pipeline with what prepare derived from it; predict gives its probabilities."""

    pipeline: Any
    rest: Any | None  # the steps after log_features (None: the first step is something else)
    names: tuple[str, ...]  # the columns log_features gives, as the rest was fitted on
    trees: Trees | None  # when the rest is a gradient boosting model alone
    final: Any
    linear: Linear | None = None  # when the rest (or the whole, classic) is a logistic regression

    def predict(self, counts: Array) -> Array:
        """Each row's probability of leaving, from its counts (FEATURES order)."""
        if len(counts) == 0:
            return np.empty(0)
        # Not finite: scikit-learn's own path, which refuses it as it always did.
        if self.linear is not None and np.isfinite(counts).all():
            if self.rest is None:
                return self.linear.predict(counts)
            return self.linear.predict(log_feature_array(counts, self.linear.order))
        if self.rest is None:
            return self._whole(counts)
        features = log_feature_array(counts)
        if self.trees is not None and len(counts) <= SMALL_BATCH:
            raw = raw_predictions(self.trees, features)
            return np.asarray(self.final._loss.predict_proba(raw)[:, 1], dtype="float64")
        frame = pd.DataFrame(features, columns=list(self.names))
        return np.asarray(self.rest.predict_proba(frame)[:, 1], dtype="float64")

    def predict_repeated(self, counts: Array) -> Array:
        """predict for rows that often repeat (the reasons' variants: a third of them for the
        demo's 10,000 clients), each distinct row predicted once when a row's probability does
        not depend on its batch: trees walk row by row, while a linear model's matrix product
        can differ in the last bit with the batch."""
        if self.trees is None or len(counts) < DISTINCT_FROM or not np.isfinite(counts).all():
            return self.predict(counts)
        distinct, back = distinct_rows(np.asarray(counts, dtype="float64"))
        return self.predict(distinct)[back]

    def _whole(self, counts: Array) -> Array:
        """The whole pipeline's probabilities, for a pipeline without log_features first."""
        if getattr(self.pipeline, "feature_names_in_", None) is not None:
            return predict_risk(self.pipeline, pd.DataFrame(counts, columns=list(FEATURES)))
        # Fitted on a bare array (the classic model): the array scikit-learn makes of the
        # integer counts of a frame, C-ordered float64. A linear model's dot product can
        # differ in the last bit with the memory order of its input.
        rows = np.ascontiguousarray(counts, dtype="float64")
        return np.asarray(self.pipeline.predict_proba(rows)[:, 1], dtype="float64")


def distinct_rows(rows: Array) -> tuple[Array, Array]:
    """The distinct rows (sorted), and each row's index among them: np.unique's answer with
    axis=0 and return_inverse, in a third of its time."""
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    first = np.empty(len(rows), dtype=bool)
    first[:1] = True
    np.any(ordered[1:] != ordered[:-1], axis=1, out=first[1:])
    back = np.empty(len(rows), dtype=np.int64)
    back[order] = np.cumsum(first) - 1
    return ordered[first], back


def prepare(pipeline: Any) -> FastModel:
    """What predicting with this fitted Pipeline needs, derived once (at load time)."""
    steps = [step for _, step in pipeline.steps]
    first = steps[0]
    if not (isinstance(first, FunctionTransformer) and first.func is log_features):
        # The classic model, fitted on a bare array: scikit-learn sees the C-ordered rows
        # _whole makes. Fitted on a frame, it sees what pandas makes: left to scikit-learn.
        bare = getattr(pipeline, "feature_names_in_", None) is None
        return FastModel(
            pipeline, None, (), None, None, compile_linear(steps, "C") if bare else None
        )
    rest, final = pipeline[1:], steps[-1]
    names = tuple(str(name) for name in pipeline.steps[1][1].feature_names_in_)
    alone = len(steps) == 2 and isinstance(final, HistGradientBoostingClassifier)
    trees = compile_trees(final) if alone and len(final.classes_) == 2 else None
    # log_features' frame holds its columns apart: the array scikit-learn makes of it is
    # Fortran-ordered.
    return FastModel(pipeline, rest, names, trees, final, compile_linear(steps[1:], "F"))
