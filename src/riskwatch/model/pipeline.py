"""The model itself: one seeded scikit-learn Pipeline, preprocessing included, per model kind."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, get_args

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from riskwatch.config import FittedKind
from riskwatch.schema import FEATURES

MODEL_KINDS: tuple[str, ...] = get_args(FittedKind)

# Types a saved model may contain beyond scikit-learn's and numpy's defaults; the registry
# refuses any other type on load (skops' allowlist), so a foreign file cannot run code.
TRUSTED_TYPES = (
    "riskwatch.model.pipeline.log_features",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.Interval",
)


@dataclass(frozen=True)
class ModelParams:
    """What to build: the model kind and its seed."""

    kind: FittedKind = "hgb"
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The parameters as JSON-ready values (recorded with each version)."""
        return asdict(self)


def log_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Log-scaled counts plus the activity ratio (last month against the yearly pace)."""
    counts = frame[list(FEATURES)].astype("float64")
    out = pd.DataFrame(np.log1p(counts.to_numpy()), columns=counts.columns, index=counts.index)
    monthly_pace = counts["lastyear_activity"] / 12
    out["activity_ratio"] = np.log1p(counts["lastmonth_activity"]) - np.log1p(monthly_pace)
    return out


def build_model(params: ModelParams) -> Pipeline:
    """An unfitted Pipeline for the given parameters."""
    if params.kind == "classic":
        # The classic exercise's model: raw features, liblinear, otherwise defaults.
        model: Any = LogisticRegression(solver="liblinear", random_state=params.seed)
        return Pipeline([("model", model)])
    features = ("features", FunctionTransformer(log_features))
    if params.kind == "hgb":
        model = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, early_stopping=False, random_state=params.seed
        )
        return Pipeline([features, ("model", model)])
    model = LogisticRegression(max_iter=1000, random_state=params.seed)
    return Pipeline([features, ("scale", StandardScaler()), ("model", model)])


def fit_input(params: ModelParams, frame: pd.DataFrame) -> Any:
    """The features to fit on: the classic model is fitted on a bare array, as the classic
    exercise does."""
    features = frame[list(FEATURES)]
    return features.to_numpy() if params.kind == "classic" else features


def model_input(model: Pipeline, frame: pd.DataFrame) -> Any:
    """The features in the form the model was fitted on (the classic one saw a bare array)."""
    features = frame[list(FEATURES)]
    if getattr(model, "feature_names_in_", None) is None:
        return features.to_numpy()
    return features


def predict_risk(model: Pipeline, frame: pd.DataFrame) -> np.ndarray:
    """Each row's probability of leaving."""
    if frame.empty:
        return np.empty(0)
    return np.asarray(model.predict_proba(model_input(model, frame))[:, 1], dtype="float64")
