"""A client's reasons in words: the features that push the risk up, against typical values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskwatch.model.reasons import MIN_PUSH, describe, reason_words, standing, typical_variants
from riskwatch.schema import FEATURES

# Percentile points 0..100 of each feature among the clients: value v is the v-th percentile.
PERCENTILES = {feature: [float(p) for p in range(101)] for feature in FEATURES}


def client(month: int, year: int, employees: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lastmonth_activity": [month],
            "lastyear_activity": [year],
            "number_of_employees": [employees],
        }
    )


def test_the_largest_pushes_are_named_in_order_and_small_ones_are_left_out() -> None:
    push = np.array([[0.20, 0.002, 0.05]])  # last month most, company size next, year too small
    words = reason_words(push, client(3, 120, 90), PERCENTILES)
    assert words == [
        [
            "last month's activity is 70% below its monthly average",
            "a large company (90 employees, larger than 88% of clients)",
        ]
    ]
    assert MIN_PUSH > 0.002


def test_no_push_large_enough_gives_no_words() -> None:
    assert reason_words(np.array([[0.0, 0.005, -0.3]]), client(3, 120, 90), PERCENTILES) == [[]]


def test_the_words_say_low_middle_and_high_with_the_share_beside_them() -> None:
    row = next(client(10, 5, 1).itertuples(index=False))
    assert describe("lastyear_activity", row, PERCENTILES) == (
        "low activity over the last year (5, lower than 93% of clients)"
    )
    assert describe("number_of_employees", row, PERCENTILES) == (
        "a small company (1 employee, smaller than 97% of clients)"
    )
    assert standing(PERCENTILES["lastyear_activity"], 50.0)[0] == "middle"


def test_last_month_is_described_against_the_clients_own_pace() -> None:
    def month(m: int, y: int) -> str:
        return describe(
            "lastmonth_activity", next(client(m, y, 1).itertuples(index=False)), PERCENTILES
        )

    assert month(0, 24) == "no activity last month (its monthly average is 2.0)"
    assert month(15, 120) == "last month's activity is 50% above its monthly average"
    assert month(10, 120) == "last month's activity is within 1% of its monthly average"
    assert month(4, 0) == "no activity over the last year"


def test_each_feature_is_set_to_a_typical_value_in_its_own_block_of_rows() -> None:
    counts = np.array([[3.0, 120.0, 90.0]])
    medians = {"lastyear_activity": 60.0, "number_of_employees": 20.0}
    rows = typical_variants(counts, medians)
    assert rows.tolist() == [
        [3.0, 120.0, 90.0],  # the client
        [10.0, 120.0, 90.0],  # last month at its own monthly pace
        [2.0, 60.0, 90.0],  # the year at the median, last month scaled with it
        [3.0, 120.0, 20.0],  # the company size at the median
    ]
