"""The calls' effect: churn of held-out vs contacted clients, with honest intervals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from riskwatch.monitoring.uplift import (
    MIN_KNOWN,
    Outcome,
    compare,
    compare_by_band,
    newcombe,
    wilson,
)


@pytest.mark.parametrize(("left", "known"), [(0, 12), (3, 40), (56, 70), (40, 40)])
def test_the_wilson_interval_is_scipys(left: int, known: int) -> None:
    rate = wilson(left, known)
    reference = binomtest(left, known).proportion_ci(method="wilson")
    assert rate.value == pytest.approx(left / known)
    assert (rate.low, rate.high) == pytest.approx((reference.low, reference.high), abs=1e-12)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # Newcombe (1998), Statistics in Medicine 17: 873-890, table II, method 10.
        ((56, 70), (48, 80), (0.0524, 0.3339)),
        ((9, 10), (3, 10), (0.1705, 0.8090)),
        ((5, 56), (0, 29), (-0.0381, 0.1926)),
    ],
)
def test_the_difference_interval_matches_newcombes_published_examples(
    first: tuple[int, int], second: tuple[int, int], expected: tuple[float, float]
) -> None:
    _, low, high = newcombe(wilson(*first), wilson(*second))
    assert (low, high) == pytest.approx(expected, abs=5e-5)


def _outcomes(band: str, held: tuple[int, int], called: tuple[int, int]) -> list[Outcome]:
    rows = [Outcome(band, True, False, i < held[0]) for i in range(held[1])]
    return rows + [Outcome(band, False, True, i < called[0]) for i in range(called[1])]


def test_a_band_with_enough_outcomes_reports_the_lift_with_its_interval() -> None:
    result = compare("high", _outcomes("high", (20, 50), (40, 200)))
    assert (result.held_out.left, result.held_out.known) == (20, 50)
    assert (result.contacted.left, result.contacted.known) == (40, 200)
    assert result.lift == pytest.approx(0.4 - 0.2)
    assert result.low is not None and result.high is not None
    assert result.low < 0.2 < result.high
    assert result.enough and result.why_not == ""


def test_too_few_held_out_clients_says_so_plainly() -> None:
    result = compare("medium", _outcomes("medium", (1, 4), (10, 90)))
    assert not result.enough
    assert result.why_not == (
        f"not enough data yet: 4 held-out clients with a known outcome ({MIN_KNOWN} needed)"
    )


def test_listed_clients_nobody_called_are_in_neither_group() -> None:
    rows = _outcomes("high", (5, 40), (4, 40)) + [Outcome("high", False, False, True)] * 7
    result = compare("high", rows)
    assert result.held_out.known == 40 and result.contacted.known == 40


def test_each_band_is_compared_and_then_all_together() -> None:
    rows = _outcomes("high", (12, 40), (6, 60)) + _outcomes("low", (1, 35), (1, 50))
    results = compare_by_band(rows, ["high", "medium", "low"])
    assert [r.band for r in results] == ["high", "medium", "low", "all"]
    assert results[1].held_out.known == 0 and results[1].lift is None
    assert results[3].held_out.known == 75 and results[3].contacted.known == 110


def test_the_interval_covers_a_known_effect_about_95_times_in_100() -> None:
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(400):
        held = int(rng.binomial(60, 0.30))
        called = int(rng.binomial(240, 0.18))
        _, low, high = newcombe(wilson(held, 60), wilson(called, 240))
        assert low is not None and high is not None
        covered += low <= 0.12 <= high
    assert 0.92 <= covered / 400 <= 0.99
