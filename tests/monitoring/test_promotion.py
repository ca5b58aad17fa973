"""The shadow challenger's promotion rule: a gain beyond noise, or a refresh on more data."""

from __future__ import annotations

import dataclasses

from riskwatch.config import Settings
from riskwatch.monitoring.promotion import promotion_rule, rule_words

SETTINGS = Settings()


def test_a_gain_beyond_noise_promotes_whatever_the_rows() -> None:
    assert promotion_rule(SETTINGS, 1_000, 0.01, 5_000) == "gain"


def test_a_refit_on_twice_productions_rows_not_worse_beyond_the_margin_is_a_refresh() -> None:
    assert promotion_rule(SETTINGS, 2_000, -0.01, 1_000) == "refresh"
    assert promotion_rule(SETTINGS, 2_000, -0.03, 1_000) is None  # worse: margin 0.02
    assert promotion_rule(SETTINGS, 1_999, -0.01, 1_000) is None  # not enough rows
    assert promotion_rule(SETTINGS, 2_000, -0.01, None) is None  # rows unknown
    assert promotion_rule(SETTINGS, 2_000, None, 1_000) is None  # no bootstrap


def test_refreshing_on_data_alone_can_be_switched_off() -> None:
    off = dataclasses.replace(SETTINGS, shadow_refresh_growth=0.0)
    assert promotion_rule(off, 10_000, -0.001, 1_000) is None


def test_the_words_name_the_rule_and_its_numbers() -> None:
    words = rule_words(SETTINGS, "refresh", 4_000, 2_000)
    assert "4,000 rows, 2.0 times production's 2,000" in words and "a refresh on more data" in words
    assert rule_words(SETTINGS, None, 3_000, 2_000).startswith("not better beyond noise; ")
    assert rule_words(SETTINGS, "gain", 1_000, None) == "better beyond noise"
