"""Training: the whole model, preprocessing included, as one seeded scikit-learn Pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from riskwatch.errors import RiskwatchError
from riskwatch.schema import FEATURES, TARGET

ModelKind = Literal["classic", "logistic"]
MIN_ROWS = 10


class TrainingError(RiskwatchError):
    """Data a model cannot be trained on; nothing is changed."""


@dataclass(frozen=True)
class ModelParams:
    """What to build: the model kind and its seed."""

    kind: ModelKind = "logistic"
    seed: int = 0


def _log_features(frame: pd.DataFrame) -> pd.DataFrame:
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
        return Pipeline(
            [("model", LogisticRegression(solver="liblinear", random_state=params.seed))]
        )
    return Pipeline(
        [
            ("features", FunctionTransformer(_log_features)),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(max_iter=1000, random_state=params.seed)),
        ]
    )


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


def train_model(frame: pd.DataFrame, params: ModelParams) -> Pipeline:
    """Fit a fresh Pipeline on the frame's features and target."""
    check_training_data(frame)
    model = build_model(params)
    if params.kind == "classic":
        model.fit(frame[list(FEATURES)].to_numpy(), frame[TARGET].to_numpy())
    else:
        model.fit(frame[list(FEATURES)], frame[TARGET])
    return model
