"""The client record: columns, types, value rules, and validation that explains each bad row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

ID_COLUMN = "corporation"
FEATURES = ("lastmonth_activity", "lastyear_activity", "number_of_employees")
TARGET = "exited"
REQUIRED = (ID_COLUMN, *FEATURES, TARGET)
BATCH_COLUMN = "batch_id"  # lineage: the recorded batch each master row came from

# Counts above this are data errors, not clients (and would overflow int64 arithmetic later).
MAX_COUNT = 10**12
_INTEGER = r"\s*\+?\d+(?:\.0*)?\s*"
_NEGATIVE = r"\s*-\s*\d+(?:\.\d*)?\s*"
_NUMBER = r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*"


class SchemaError(ValueError):
    """Data that cannot be validated at all, such as a required column that is missing."""


@dataclass
class Validation:
    """Validated batch: typed good rows, bad rows with line and reason, missing values a column."""

    good: pd.DataFrame
    bad: pd.DataFrame  # the raw values, plus "line" and "reason"
    missing: dict[str, int] = field(default_factory=dict)


def check_columns(columns: list[str], *, require_target: bool = True) -> None:
    """Refuse a header without the required columns or with a column named twice."""
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise SchemaError(f"column '{name}' appears more than once in the header")
        seen.add(name)
    required = REQUIRED if require_target else REQUIRED[:-1]
    missing = [c for c in required if c not in seen]
    # A first line with none of our names and some numbers is data, not a header.
    if len(missing) == len(required) and any(_looks_like_value(c) for c in columns):
        raise SchemaError(
            "no header row: the first line holds values, "
            f"expected the columns {', '.join(required)}"
        )
    if missing:
        raise SchemaError(
            f"required column(s) missing: {', '.join(missing)}; found: {', '.join(columns)}"
        )


def _looks_like_value(text: str) -> bool:
    return pd.Series([text]).str.fullmatch(_NUMBER).iloc[0] or text.strip() == ""


def validate(
    raw: pd.DataFrame,
    *,
    lines: np.ndarray[Any, Any],
    extra_columns: str = "drop",
    require_target: bool = True,
) -> Validation:
    """Validate text columns against the schema; bad rows keep their line number and reasons."""
    check_columns([str(c) for c in raw.columns], require_target=require_target)
    required = list(REQUIRED if require_target else REQUIRED[:-1])
    text = raw.astype("str").fillna("") if len(raw.columns) else raw
    reasons = pd.Series("", index=raw.index, dtype="object")
    missing: dict[str, int] = {}
    typed: dict[str, pd.Series] = {}
    for column in required:
        values = text[column]
        empty = values.str.strip() == ""
        missing[column] = int(empty.sum())
        problem, typed[column] = _check_column(column, values, empty)
        reasons = _append(reasons, problem)
    bad_mask = reasons != ""
    good = pd.DataFrame({c: typed[c][~bad_mask] for c in required})
    if extra_columns == "keep":
        for column in text.columns.difference(required, sort=False):
            good[column] = text.loc[~bad_mask, column]
    bad = text[bad_mask].copy()
    bad.insert(0, "reason", reasons[bad_mask])
    bad.insert(0, "line", np.asarray(lines, dtype="int64")[bad_mask.to_numpy()])
    return Validation(good=good.reset_index(drop=True), bad=bad, missing=missing)


def _append(reasons: pd.Series, problem: pd.Series) -> pd.Series:
    has = problem != ""
    joined = reasons.where(reasons == "", reasons + "; ") + problem
    return reasons.where(~has, joined)


def _check_column(column: str, values: pd.Series, empty: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Reasons (empty text when fine) and the typed values of one required column."""
    if column == ID_COLUMN:
        problem = pd.Series(np.where(empty, f"{column} is empty", ""), index=values.index)
        return problem, values.str.strip()
    numbers = pd.to_numeric(values.where(values.str.fullmatch(_INTEGER), None), errors="coerce")
    is_number = values.str.fullmatch(_NUMBER).to_numpy(dtype=bool)
    rules = [
        (empty.to_numpy(), "is missing"),
        (values.str.fullmatch(_NEGATIVE).to_numpy(dtype=bool), "is negative"),
        (is_number & numbers.isna().to_numpy(), "is not a whole number"),
        (numbers.isna().to_numpy(), "is not a number"),
        ((numbers > MAX_COUNT).to_numpy(dtype=bool), f"is implausibly large (over {MAX_COUNT:,})"),
    ]
    if column == TARGET:
        rules.append((~numbers.isin([0, 1]).to_numpy(), "must be 0 or 1"))
    chosen = np.select([mask for mask, _ in rules], [why for _, why in rules], default="")
    reasons = _with_values(column, pd.Series(chosen, index=values.index), values)
    typed = numbers.where(reasons == "", 0).astype("int64")
    return reasons, typed


def _with_values(column: str, problem: pd.Series, values: pd.Series) -> pd.Series:
    """Turn each rule into a reason that names the column and shows the offending value."""
    out = pd.Series("", index=problem.index, dtype="object")
    mask = (problem != "").to_numpy()
    if not mask.any():
        return out
    shown = values[mask].str.slice(0, 40).map(repr)
    out[mask] = (
        column
        + " "
        + problem[mask]
        + np.where(problem[mask] == "is missing", "", " (" + shown + ")")
    )
    return out
