"""The schema: each rule's message for a bad row, and the header checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskwatch.schema import MAX_ID_LENGTH, REQUIRED, SchemaError, check_columns, validate

GOOD = {
    "corporation": "acme",
    "lastmonth_activity": "3",
    "lastyear_activity": "40",
    "number_of_employees": "12",
    "exited": "0",
}


def validated(*changes: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The good and bad rows of one good row followed by a row per change."""
    rows = [GOOD] + [{**GOOD, **change} for change in changes]
    raw = pd.DataFrame(rows, columns=list(REQUIRED), dtype=object)
    result = validate(raw, lines=np.arange(2, len(rows) + 2))
    return result.good, result.bad


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"lastmonth_activity": ""}, "lastmonth_activity is missing"),
        ({"lastmonth_activity": "-4"}, "lastmonth_activity is negative ('-4')"),
        ({"lastyear_activity": "2.5"}, "lastyear_activity is not a whole number ('2.5')"),
        ({"number_of_employees": "many"}, "number_of_employees is not a number ('many')"),
        (
            {"number_of_employees": "1e13"},
            "number_of_employees is implausibly large (over 1,000,000,000,000) ('1e13')",
        ),
        ({"exited": "2"}, "exited must be 0 or 1 ('2')"),
        ({"corporation": "  "}, "corporation is empty"),
        (
            {"corporation": "x" * (MAX_ID_LENGTH + 1)},
            f"corporation is 201 characters long; the limit is {MAX_ID_LENGTH}",
        ),
    ],
)
def test_a_bad_value_is_named_with_its_rule_and_its_line(
    change: dict[str, str], reason: str
) -> None:
    good, bad = validated(change)
    assert list(good["corporation"]) == ["acme"]
    assert list(bad["line"]) == [3]
    assert list(bad["reason"]) == [reason]


def test_a_row_breaking_two_rules_names_both() -> None:
    _, bad = validated({"lastmonth_activity": "-1", "exited": "yes"})
    assert list(bad["reason"]) == [
        "lastmonth_activity is negative ('-1'); exited is not a number ('yes')"
    ]


def test_good_rows_are_typed_and_keep_their_values() -> None:
    good, bad = validated({"corporation": " beta ", "lastyear_activity": "7.0"})
    assert bad.empty
    assert list(good["corporation"]) == ["acme", "beta"]
    assert list(good["lastyear_activity"]) == [40, 7]
    assert good["lastyear_activity"].dtype == "int64"


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["corporation", "corporation"], "column 'corporation' appears more than once"),
        (["1", "2", "3", "4", "5"], "no header row: the first line holds values"),
        (["corporation", "exited"], "required column(s) missing: lastmonth_activity"),
    ],
)
def test_a_bad_header_is_refused_saying_why(columns: list[str], message: str) -> None:
    with pytest.raises(SchemaError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_columns(columns)


def test_scoring_needs_no_target_column() -> None:
    check_columns(list(REQUIRED[:-1]), require_target=False)
    with pytest.raises(SchemaError, match="exited"):
        check_columns(list(REQUIRED[:-1]))
