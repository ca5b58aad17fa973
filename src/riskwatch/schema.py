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
# Ids longer than this are data errors (a pasted blob, a broken export), not client names; the
# limit keeps every id readable in the call list and the reports.
MAX_ID_LENGTH = 200  # the API refuses longer ids too (api/schemas.py)
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
    """Validate a batch against the schema; bad rows keep their line number and reasons."""
    check_columns([str(c) for c in raw.columns], require_target=require_target)
    required = list(REQUIRED if require_target else REQUIRED[:-1])
    bad_mask = np.zeros(len(raw), dtype=bool)
    failed: dict[str, np.ndarray[Any, Any]] = {}
    missing: dict[str, int] = {}
    typed: dict[str, pd.Series] = {}
    for column in required:
        typed[column], ok, empty = _check_column(column, raw[column])
        missing[column] = int(empty.sum())
        failed[column] = ~ok
        bad_mask |= ~ok
    good = pd.DataFrame({c: typed[c][~bad_mask] for c in required})
    if extra_columns == "keep":
        for column in raw.columns.difference(required, sort=False):
            good[column] = _as_text(raw.loc[~bad_mask, column])
    bad = raw[bad_mask].copy()
    bad.insert(0, "reason", _reasons(raw[bad_mask], {c: m[bad_mask] for c, m in failed.items()}))
    bad.insert(0, "line", np.asarray(lines, dtype="int64")[bad_mask])
    return Validation(good=good.reset_index(drop=True), bad=bad, missing=missing)


def _as_text(values: pd.Series) -> pd.Series:
    """Values as text, missing as empty text."""
    # An object column counts as a string dtype to pandas even when it holds numbers (JSON
    # lines, huge integers): only a column of real strings may pass through as it is.
    all_text = values.dtype != object or pd.api.types.infer_dtype(values) == "string"
    if pd.api.types.is_string_dtype(values.dtype) and all_text and not values.isna().any():
        return values
    return values.astype(object).where(values.notna(), "").astype(str)


def _check_column(column: str, values: pd.Series) -> tuple[pd.Series, Any, Any]:
    """Typed values, which rows pass, and which are missing; fast on clean typed columns."""
    if column == ID_COLUMN:
        text = _as_text(values).str.strip()
        empty = (text == "").to_numpy()
        return text, ~empty & (text.str.len() <= MAX_ID_LENGTH).to_numpy(), empty
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        numbers, empty = values, values.isna().to_numpy()
    else:  # text or mixed: the reasons are worked out later, for the failing rows only
        text = _as_text(values).str.strip()
        empty = (text == "").to_numpy()
        numbers = pd.to_numeric(text.where(~empty, None), errors="coerce")
    ok = (numbers.notna() & (numbers >= 0) & (numbers <= MAX_COUNT) & (numbers % 1 == 0)).to_numpy()
    if column == TARGET:
        ok = ok & numbers.isin([0, 1]).to_numpy()
    return numbers.where(ok, 0).astype("int64"), ok, empty


def _reasons(bad: pd.DataFrame, failed: dict[str, Any]) -> pd.Series:
    """One readable reason per bad row, naming each failing column and its value."""
    reasons = pd.Series("", index=bad.index, dtype="object")
    for column, mask in failed.items():
        if not mask.any():
            continue
        explained = _explain(column, _shown(bad[column][mask]))
        joined = reasons[mask].where(reasons[mask] == "", reasons[mask] + "; ") + explained
        reasons[mask] = joined
    return reasons


def _shown(values: pd.Series) -> pd.Series:
    """Failing values as the file wrote them: a float column shows -4, not -4.0."""
    if not pd.api.types.is_float_dtype(values.dtype):
        return _as_text(values)
    return values.map(
        lambda v: "" if pd.isna(v) else str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    ).astype(str)


def _explain(column: str, values: pd.Series) -> pd.Series:
    """Why each of these (failing) values breaks the rules of its column."""
    if column == ID_COLUMN:
        length = values.str.strip().str.len()
        too_long = (
            f"{column} is " + length.map("{:,}".format) + f" characters long; the limit is "
            f"{MAX_ID_LENGTH}"
        )
        return too_long.where(length > 0, f"{column} is empty")
    numbers = pd.to_numeric(values.where(values.str.fullmatch(_INTEGER), None), errors="coerce")
    is_number = values.str.fullmatch(_NUMBER).to_numpy(dtype=bool)
    huge = is_number & (pd.to_numeric(values, errors="coerce") > MAX_COUNT).to_numpy(dtype=bool)
    large = f"is implausibly large (over {MAX_COUNT:,})"
    rules = [
        ((values.str.strip() == "").to_numpy(), "is missing"),
        (values.str.fullmatch(_NEGATIVE).to_numpy(dtype=bool), "is negative"),
        (huge, large),
        (is_number & numbers.isna().to_numpy(), "is not a whole number"),
        (numbers.isna().to_numpy(), "is not a number"),
        ((numbers > MAX_COUNT).to_numpy(dtype=bool), large),
        (np.ones(len(values), dtype=bool), "must be 0 or 1" if column == TARGET else "is invalid"),
    ]
    chosen = pd.Series(
        np.select([m for m, _ in rules], [why for _, why in rules], default=""), index=values.index
    )
    shown = " (" + values.str.slice(0, 40).map(repr) + ")"
    return column + " " + chosen + shown.where(chosen != "is missing", "")
