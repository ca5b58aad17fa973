"""The model itself: each kind builds and fits; the log features' arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from riskwatch.model.pipeline import (
    MODEL_KINDS,
    ModelParams,
    build_model,
    fit_input,
    log_features,
    predict_risk,
)
from riskwatch.schema import FEATURES, TARGET


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """200 clients whose risk of leaving falls with last month's activity."""
    rng = np.random.default_rng(3)
    year = rng.integers(0, 600, size=200)
    month = rng.integers(0, 80, size=200)
    return pd.DataFrame(
        {
            "lastmonth_activity": month,
            "lastyear_activity": year,
            "number_of_employees": rng.integers(1, 500, size=200),
            TARGET: (month < 20).astype(int),
        }
    )


def test_log_features_are_log1p_counts_plus_last_month_against_the_monthly_pace() -> None:
    frame = pd.DataFrame(
        {"lastmonth_activity": [9, 0], "lastyear_activity": [120, 0], "number_of_employees": [0, 3]}
    )
    out = log_features(frame)
    assert list(out.columns) == [*FEATURES, "activity_ratio"]
    assert out.loc[0, "lastmonth_activity"] == pytest.approx(math.log(10))
    assert out.loc[0, "lastyear_activity"] == pytest.approx(math.log(121))
    assert out.loc[0, "number_of_employees"] == 0
    # 9 last month against a pace of 10 a month: log(10) - log(11).
    assert out.loc[0, "activity_ratio"] == pytest.approx(math.log(10) - math.log(11))
    assert out.loc[1, "activity_ratio"] == 0  # no activity at all: no change
    assert out.index.equals(frame.index)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_each_kind_builds_fits_and_gives_a_probability_per_client(
    kind: str, rows: pd.DataFrame
) -> None:
    params = ModelParams(kind=kind, seed=1)  # type: ignore[arg-type]
    model = build_model(params).fit(fit_input(params, rows), rows[TARGET])
    risks = predict_risk(model, rows)
    assert risks.shape == (len(rows),)
    assert ((risks >= 0) & (risks <= 1)).all()
    # The clients who left (little activity last month) are ranked above those who stayed.
    assert risks[rows[TARGET] == 1].mean() > risks[rows[TARGET] == 0].mean()
    assert predict_risk(model, rows.iloc[:0]).shape == (0,)


def test_the_classic_kind_is_fitted_on_a_bare_array_the_others_on_named_columns(
    rows: pd.DataFrame,
) -> None:
    assert isinstance(fit_input(ModelParams(kind="classic"), rows), np.ndarray)
    assert list(fit_input(ModelParams(kind="hgb"), rows).columns) == list(FEATURES)


def test_the_same_seed_gives_the_same_model(rows: pd.DataFrame) -> None:
    params = ModelParams(kind="hgb", seed=5)
    first = build_model(params).fit(fit_input(params, rows), rows[TARGET])
    second = build_model(params).fit(fit_input(params, rows), rows[TARGET])
    assert np.array_equal(predict_risk(first, rows), predict_risk(second, rows))
    assert params.to_dict() == {"kind": "hgb", "seed": 5}
