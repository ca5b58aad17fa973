"""The paired bootstrap of precision at k: the same bound as ranking every resample whole."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from riskwatch.monitoring.paired import _ranked, _shares_within, _top_shares, paired_gain

Array = np.ndarray[Any, Any]


def reference_gains(
    labels: Array, base: Array, other: Array, k: int, *, resamples: int, seed: int
) -> Array:
    """The bootstrap as it was computed before: every resample drawn at once, each model's k
    riskiest found by a partition of the resample's risks."""
    drawn = np.random.default_rng(seed).integers(0, len(labels), size=(resamples, len(labels)))
    found = labels[drawn]

    def top_share(risks: Array) -> Array:
        top = np.argpartition(-risks[drawn], k - 1, axis=1)[:, :k]
        return np.take_along_axis(found, top, axis=1).mean(axis=1)  # type: ignore[no-any-return]

    return top_share(other) - top_share(base)


@pytest.mark.parametrize(
    ("rows", "k", "resamples"), [(1_000, 100, 250), (300, 290, 120), (50, 1, 7)]
)
def test_the_bound_is_the_one_of_ranking_every_resample_whole(
    rows: int, k: int, resamples: int
) -> None:
    rng = np.random.default_rng(rows)
    labels = (rng.random(rows) < 0.1).astype(int)
    base, other = rng.random(rows), labels * 0.3 + rng.random(rows)  # no ties between rows
    for confidence in (0.95, 0.8):
        _, low = paired_gain(
            labels, base, other, k, resamples=resamples, seed=3, confidence=confidence
        )
        gains = reference_gains(labels, base, other, k, resamples=resamples, seed=3)
        assert low == np.quantile(gains, 1.0 - confidence)


def test_a_resample_with_fewer_than_k_draws_near_the_top_is_counted_over_every_place() -> None:
    rng = np.random.default_rng(5)
    labels = (rng.random(200) < 0.3).astype(int)
    risks = rng.random(200)
    drawn = rng.integers(0, 200, size=(40, 200))
    place, ordered = _ranked(labels, risks)
    assert _shares_within(drawn, place, ordered, 50, 55)[1].any()  # some fall short that deep
    shallow = _top_shares(drawn, place, ordered, k=50, depth=55)
    whole = _top_shares(drawn, place, ordered, k=50, depth=200)
    found = labels[drawn]
    top = np.argpartition(-risks[drawn], 49, axis=1)[:, :50]
    assert np.array_equal(shallow, whole)
    assert np.array_equal(whole, np.take_along_axis(found, top, axis=1).mean(axis=1))
