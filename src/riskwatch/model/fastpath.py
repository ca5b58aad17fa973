"""Predictions without the Pipeline's fixed cost per call, identical to its own probabilities.

scikit-learn's Pipeline spends about a millisecond a call on a one-row DataFrame for the feature
step, and HistGradientBoostingClassifier another one or two walking its 200 trees one Python
call each. For the API, where one client waits, `prepare` derives at load time what the model
needs: the features in numpy (log_features' arithmetic, bit for bit) and, for gradient boosting,
the fitted trees as flat arrays walked for every tree and row at once. Large batches go to
scikit-learn's own compiled predict, faster there (SMALL_BATCH, measured in bench_api.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.preprocessing import FunctionTransformer

from riskwatch.model.pipeline import log_features, predict_risk
from riskwatch.schema import FEATURES

Array = np.ndarray[Any, Any]
# Rows (clients and their reasons' variants) up to which the numpy walk beats scikit-learn's
# compiled predict: it pays per tree level for every row, scikit-learn a fixed cost per tree.
SMALL_BATCH = 128
MONTH, YEAR = FEATURES.index("lastmonth_activity"), FEATURES.index("lastyear_activity")


@dataclass(frozen=True)
class Trees:
    """A fitted binary HistGradientBoostingClassifier's trees as flat arrays, roots first."""

    roots: Array  # each tree's root node, in the order scikit-learn adds them up
    feature: Array  # the feature a split node reads (0 at a leaf)
    threshold: Array  # a row goes right when its value is above (+inf at a leaf: it stays)
    children: Array  # 2 * node: left child, 2 * node + 1: right; a leaf is its own child
    value: Array  # a leaf's raw value
    depth: int  # the deepest leaf: the walk's number of steps
    baseline: float  # the raw prediction before any tree


def compile_trees(model: HistGradientBoostingClassifier) -> Trees | None:
    """The model's trees for the numpy walk; None when it has what the walk does not do
    (categorical splits, more than one tree per iteration)."""
    if model.n_trees_per_iteration_ != 1 or model.is_categorical_ is not None:
        return None
    trees = [iteration[0].nodes for iteration in model._predictors]
    if any(nodes["is_categorical"].any() for nodes in trees):
        return None
    sizes = np.array([len(nodes) for nodes in trees], dtype=np.intp)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    nodes = np.concatenate(trees)
    leaf = nodes["is_leaf"].astype(bool)
    own = np.arange(len(nodes), dtype=np.intp)
    offset = np.repeat(starts, sizes)
    children = np.empty((len(nodes), 2), dtype=np.intp)
    children[:, 0] = np.where(leaf, own, nodes["left"].astype(np.intp) + offset)
    children[:, 1] = np.where(leaf, own, nodes["right"].astype(np.intp) + offset)
    return Trees(
        roots=starts,
        feature=np.where(leaf, 0, nodes["feature_idx"]).astype(np.intp),
        threshold=np.where(leaf, np.inf, nodes["num_threshold"]),
        children=children.ravel(),
        value=nodes["value"].astype("float64"),
        depth=int(nodes["depth"].max()),
        baseline=float(model._baseline_prediction[0, 0]),
    )


def raw_predictions(trees: Trees, features: Array) -> Array:
    """Each row's raw prediction: the baseline plus its leaf in every tree (no NaN allowed)."""
    rows, width = features.shape
    flat = np.ascontiguousarray(features, dtype="float64").ravel()
    node = np.tile(trees.roots, (rows, 1))
    row_start = (np.arange(rows, dtype=np.intp) * width)[:, None]
    for _ in range(trees.depth):
        right = flat[row_start + trees.feature[node]] > trees.threshold[node]
        node = trees.children[2 * node + right]
    # Added up one tree after another from the baseline, as scikit-learn does: a sum in
    # another order (np.sum's pairwise one) can differ in the last bit.
    terms = np.empty((rows, len(trees.roots) + 1))
    terms[:, 0] = trees.baseline
    terms[:, 1:] = trees.value[node]
    return np.asarray(np.cumsum(terms, axis=1)[:, -1])


def log_feature_array(counts: Array) -> Array:
    """log_features' columns from the counts (FEATURES order), in numpy, bit for bit."""
    counts = np.asarray(counts, dtype="float64")
    out = np.empty((len(counts), len(FEATURES) + 1))
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

    def predict(self, counts: Array) -> Array:
        """Each row's probability of leaving, from its counts (FEATURES order)."""
        if len(counts) == 0:
            return np.empty(0)
        if self.rest is None:
            return self._whole(counts)
        features = log_feature_array(counts)
        # A NaN feature follows each split's own missing-value rule, which the walk leaves out.
        walk = self.trees is not None and len(counts) <= SMALL_BATCH
        if walk and not np.isnan(features).any():
            raw = raw_predictions(cast(Trees, self.trees), features)
            return np.asarray(self.final._loss.predict_proba(raw)[:, 1], dtype="float64")
        frame = pd.DataFrame(features, columns=list(self.names))
        return np.asarray(self.rest.predict_proba(frame)[:, 1], dtype="float64")

    def _whole(self, counts: Array) -> Array:
        """The whole pipeline's probabilities, for a pipeline without log_features first."""
        if getattr(self.pipeline, "feature_names_in_", None) is not None:
            return predict_risk(self.pipeline, pd.DataFrame(counts, columns=list(FEATURES)))
        # Fitted on a bare array (the classic model): the array scikit-learn makes of the
        # integer counts of a frame, C-ordered float64. A linear model's dot product can
        # differ in the last bit with the memory order of its input.
        rows = np.ascontiguousarray(counts, dtype="float64")
        return np.asarray(self.pipeline.predict_proba(rows)[:, 1], dtype="float64")


def prepare(pipeline: Any) -> FastModel:
    """What predicting with this fitted Pipeline needs, derived once (at load time)."""
    first = pipeline.steps[0][1]
    if not (isinstance(first, FunctionTransformer) and first.func is log_features):
        return FastModel(pipeline, None, (), None, None)
    rest, final = pipeline[1:], pipeline.steps[-1][1]
    names = tuple(str(name) for name in pipeline.steps[1][1].feature_names_in_)
    alone = len(pipeline.steps) == 2 and isinstance(final, HistGradientBoostingClassifier)
    trees = compile_trees(final) if alone and len(final.classes_) == 2 else None
    return FastModel(pipeline, rest, names, trees, final)
