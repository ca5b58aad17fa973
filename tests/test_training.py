"""Training: the classic model reproduces the classic result; bad training data is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from riskwatch.config import load_settings
from riskwatch.ingestion import ingest
from riskwatch.schema import FEATURES, TARGET
from riskwatch.training import ModelParams, TrainingError, train_model

from .conftest import CLASSIC


@pytest.fixture
def practice(tmp_path: Path) -> pd.DataFrame:
    """The classic practice data as riskwatch ingests it (26 rows)."""
    shutil.copytree(CLASSIC, tmp_path / "classic")
    settings = load_settings(tmp_path / "classic" / "config.json", env={})
    ingest(settings)
    return pd.read_csv(settings.output_folder_path / "finaldata.csv")


def test_classic_model_reproduces_the_classic_f1(practice: pd.DataFrame) -> None:
    model = train_model(practice, ModelParams(kind="classic"))
    test = pd.read_csv(CLASSIC / "testdata" / "testdata.csv")
    predicted = model.predict(test[list(FEATURES)].to_numpy())
    precision = precision_score(test[TARGET], predicted)
    recall = recall_score(test[TARGET], predicted)
    assert (precision, recall) == (0.5, 2 / 3)
    # The classic figure is the harmonic mean 2PR/(P+R); scikit-learn 1.9's f1_score computes
    # 2TP/(2TP+FP+FN), the same 4/7 one ulp lower (0.5714285714285714).
    assert 2 * precision * recall / (precision + recall) == 0.5714285714285715
    assert f1_score(test[TARGET], predicted) == pytest.approx(4 / 7, abs=1e-15)


def test_default_model_gives_probabilities_for_each_client(practice: pd.DataFrame) -> None:
    model = train_model(practice, ModelParams())
    risk = model.predict_proba(practice[list(FEATURES)])[:, 1]
    assert risk.shape == (26,)
    assert ((risk > 0) & (risk < 1)).all()


def test_training_is_deterministic_for_a_seed(practice: pd.DataFrame) -> None:
    first = train_model(practice, ModelParams(seed=3)).predict_proba(practice[list(FEATURES)])
    second = train_model(practice, ModelParams(seed=3)).predict_proba(practice[list(FEATURES)])
    assert (first == second).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(exited=0), "only exited = 0: both classes are needed"),
        (lambda f: f.head(5), "has 5 rows; at least 10 are needed"),
        (lambda f: f.drop(columns=["number_of_employees"]), "lacks the column"),
    ],
    ids=["one-class", "too-few-rows", "missing-column"],
)
def test_training_refuses_unusable_data(
    practice: pd.DataFrame, change: object, message: str
) -> None:
    with pytest.raises(TrainingError, match=message):
        train_model(change(practice), ModelParams())  # type: ignore[operator]
