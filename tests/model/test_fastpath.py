"""The fast prediction path gives the Pipeline's own probabilities and today's reasons, exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from riskwatch.demo.portfolio import simulate
from riskwatch.model.choice import CANDIDATES
from riskwatch.model.fastpath import (
    SMALL_BATCH,
    compile_trees,
    distinct_rows,
    log_feature_array,
    prepare,
    raw_predictions,
)
from riskwatch.model.pipeline import (
    MODEL_KINDS,
    ModelParams,
    build_model,
    fit_input,
    log_features,
    predict_risk,
)
from riskwatch.model.reasons import (
    MAX_REASONS,
    MIN_PUSH,
    describe,
    many_shares,
    reason_words,
    risk_and_push,
    risks_and_pushes,
)
from riskwatch.schema import FEATURES, MAX_COUNT
from riskwatch.training import reference_profile

SIZES = (1, 2, 3, 17, SMALL_BATCH // 4, SMALL_BATCH, SMALL_BATCH + 1, 1000, 10_000)


@pytest.fixture(scope="module")
def clients() -> pd.DataFrame:
    """10,000 demo clients, plus rows at the edges: no activity, a year without a month, the
    largest counts accepted."""
    frame = next(simulate(10_000, 1, "none", None, 7)).drop(columns="true_probability")
    edges = pd.DataFrame(
        {
            "corporation": ["zero", "no-year", "huge", "one"],
            "lastmonth_activity": [0, 5, MAX_COUNT, 1],
            "lastyear_activity": [0, 0, MAX_COUNT, 1],
            "number_of_employees": [0, 3, MAX_COUNT, 1],
            "exited": [0, 1, 0, 1],
        }
    )
    return pd.concat([edges, frame], ignore_index=True).iloc[:10_000]


@pytest.fixture(scope="module")
def models(clients: pd.DataFrame) -> dict[str, Any]:
    """One fitted Pipeline of every model kind."""
    fitted = {}
    for kind in MODEL_KINDS:
        params = ModelParams(kind=kind, seed=0)  # type: ignore[arg-type]
        fitted[kind] = build_model(params).fit(fit_input(params, clients), clients["exited"])
    return fitted


def pandas_risks_and_pushes(
    model: Any, frame: pd.DataFrame, medians: dict[str, float]
) -> tuple[np.ndarray[Any, Any], pd.DataFrame]:
    """The reasons' predictions as riskwatch made them before the fast path (kept verbatim)."""
    month, year = frame["lastmonth_activity"], frame["lastyear_activity"]
    variants = [frame]
    for feature in FEATURES:
        typical = frame.copy()
        if feature == "lastmonth_activity":
            typical[feature] = (year / 12).round().astype("int64")
        else:
            typical[feature] = round(medians[feature])
        if feature == "lastyear_activity":
            scale = typical[feature] / year.where(year > 0, np.nan)
            typical["lastmonth_activity"] = (month * scale).fillna(month).round().astype("int64")
        variants.append(typical)
    risks = predict_risk(model, pd.concat(variants, ignore_index=True)).reshape(len(variants), -1)
    push = {feature: risks[0] - risks[i + 1] for i, feature in enumerate(FEATURES)}
    return risks[0], pd.DataFrame(push, index=frame.index)


def scalar_shares(points: list[float], value: float) -> tuple[int, int]:
    """The reasons' shares as riskwatch computed them before, one value at a time (verbatim)."""

    def share(count: int, total: int) -> int:
        return min(100 if count == total else max(count - 2, 0), 99)

    under = int(np.searchsorted(points, value, side="left"))
    over = len(points) - int(np.searchsorted(points, value, side="right"))
    return share(under, len(points)), share(over, len(points))


def test_log_feature_array_is_log_features_bit_for_bit(clients: pd.DataFrame) -> None:
    counts = clients[list(FEATURES)]
    assert np.array_equal(log_feature_array(counts.to_numpy()), log_features(counts).to_numpy())


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_fast_probabilities_equal_the_pipelines_for_every_batch_size(
    kind: str, clients: pd.DataFrame, models: dict[str, Any]
) -> None:
    fast = prepare(models[kind])
    for size in SIZES:
        rows = clients.iloc[:size]
        expected = predict_risk(models[kind], rows)
        assert np.array_equal(fast.predict(rows[list(FEATURES)].to_numpy()), expected), size


def test_the_merged_tree_adds_up_as_scikit_learn_on_many_rows(
    clients: pd.DataFrame, models: dict[str, Any]
) -> None:
    hgb = models["hgb"].named_steps["model"]
    trees = compile_trees(hgb)
    assert trees is not None
    features = log_features(clients[list(FEATURES)])
    expected = hgb._raw_predict(features)[:, 0]
    assert np.array_equal(raw_predictions(trees, features.to_numpy()), expected)


def test_missing_values_follow_each_splits_own_rule(models: dict[str, Any]) -> None:
    counts = np.array([[np.nan, 400.0, 12.0], [3.0, np.nan, 12.0], [3.0, 400.0, np.nan]])
    expected = predict_risk(models["hgb"], pd.DataFrame(counts, columns=list(FEATURES)))
    assert np.array_equal(prepare(models["hgb"]).predict(counts), expected)


def test_an_empty_batch_gives_no_probabilities(models: dict[str, Any]) -> None:
    assert prepare(models["hgb"]).predict(np.empty((0, len(FEATURES)))).shape == (0,)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_reasons_risks_and_pushes_equal_todays_for_every_batch_size(
    kind: str, clients: pd.DataFrame, models: dict[str, Any]
) -> None:
    model, fast = models[kind], prepare(models[kind])
    medians = reference_profile(clients)["medians"]
    for size in SIZES:
        rows = clients.iloc[:size]
        risk, push = pandas_risks_and_pushes(model, rows, medians)
        new_risk, new_push = risks_and_pushes(model, rows, medians)
        assert np.array_equal(new_risk, risk), size
        assert np.array_equal(new_push.to_numpy(), push.to_numpy()), size
        fast_risk, fast_push = risk_and_push(fast.predict, rows[list(FEATURES)].to_numpy(), medians)
        assert np.array_equal(fast_risk, risk), size
        assert np.array_equal(fast_push, push.to_numpy()), size
        counts = rows[list(FEATURES)].to_numpy()
        once_risk, once_push = risk_and_push(fast.predict_repeated, counts, medians)
        assert np.array_equal(once_risk, risk), size
        assert np.array_equal(once_push, push.to_numpy()), size


def words_one_by_one(
    push: np.ndarray[Any, Any], frame: pd.DataFrame, percentiles: dict[str, list[float]]
) -> list[list[str]]:
    """The reasons' words as riskwatch found them before, one client at a time (verbatim)."""
    order = np.argsort(-push, axis=1, kind="stable")[:, :MAX_REASONS]
    named = np.take_along_axis(push, order, axis=1) >= MIN_PUSH
    texts = []
    for row, features, keep in zip(frame.itertuples(index=False), order, named, strict=True):
        words = [describe(FEATURES[f], row, percentiles) for f in features[keep]]
        texts.append(list(dict.fromkeys(words)))
    return texts


def test_reason_words_equal_those_found_one_client_at_a_time(
    clients: pd.DataFrame, models: dict[str, Any]
) -> None:
    reference = reference_profile(clients)
    percentiles = reference["percentiles"]
    push = risks_and_pushes(models["hgb"], clients, reference["medians"])[1].to_numpy()
    words = reason_words(push, clients, percentiles)
    assert words == words_one_by_one(push, clients, percentiles)
    assert any(said for said in words) and any(not said for said in words)


def test_shares_of_many_values_equal_todays_one_value_at_a_time(clients: pd.DataFrame) -> None:
    percentiles = reference_profile(clients)["percentiles"]
    for feature in FEATURES:
        points = percentiles[feature]
        values = np.concatenate([clients[feature].to_numpy(), np.array(points), [0, MAX_COUNT]])
        below, above = many_shares(points, values)
        expected = [scalar_shares(points, value) for value in values]
        assert list(zip(below.tolist(), above.tolist(), strict=True)) == expected


def test_distinct_rows_are_numpys_unique_rows(clients: pd.DataFrame) -> None:
    rows = np.concatenate([clients[list(FEATURES)].to_numpy("float64")] * 2)[::3]
    distinct, back = distinct_rows(rows)
    expected, inverse = np.unique(rows, axis=0, return_inverse=True)
    assert np.array_equal(distinct, expected)
    assert np.array_equal(back, inverse.ravel())
    assert np.array_equal(distinct[back], rows)


@pytest.mark.parametrize("kind", CANDIDATES)
def test_every_kind_auto_can_choose_is_predicted_without_scikit_learns_per_call_cost(
    kind: str, models: dict[str, Any]
) -> None:
    fast = prepare(models[kind])
    assert fast.trees is not None or fast.linear is not None


@pytest.mark.parametrize("kind", ["logistic", "classic"])
def test_linear_probabilities_equal_the_pipelines_for_random_counts(
    kind: str, models: dict[str, Any]
) -> None:
    fast, rng = prepare(models[kind]), np.random.default_rng(3)
    for size in (1, 2, 5, 64, 333, 4096):
        counts = rng.integers(0, [50, 600, 5000], size=(size, len(FEATURES)))
        expected = predict_risk(models[kind], pd.DataFrame(counts, columns=list(FEATURES)))
        assert np.array_equal(fast.predict(counts), expected), size
        floats = counts.astype("float64")
        assert np.array_equal(fast.predict(floats), expected), size


@pytest.mark.parametrize("kind", ["logistic", "classic"])
def test_a_missing_count_is_refused_by_a_linear_model_as_before(
    kind: str, models: dict[str, Any]
) -> None:
    counts = np.array([[3.0, np.nan, 12.0]])
    with pytest.raises(ValueError, match="NaN"):
        prepare(models[kind]).predict(counts)
