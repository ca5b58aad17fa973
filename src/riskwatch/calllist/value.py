"""Whom to call first: by risk, or by expected loss (risk times the client's value)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskwatch.config import Settings
from riskwatch.config_expression import check_value_expression
from riskwatch.errors import RiskwatchError
from riskwatch.schema import FEATURES

# Added after the classic columns when the list is ranked by value.
VALUE_COLUMNS = ["value", "expected_loss"]
Array = np.ndarray[Any, Any]


def client_values(expression: str, records: pd.DataFrame) -> Array:
    """Each client's value by the expression, over the feature columns only (a value that
    cannot be computed, such as a division by zero, counts as 0)."""
    try:
        check_value_expression(expression)
    except ValueError as exc:
        raise RiskwatchError(f"setting call_list_value: {exc}") from exc
    # The expression was checked to hold only feature names, numbers and arithmetic; the frame
    # it sees holds nothing else either.
    features = records[list(FEATURES)].astype(float)
    found = features.eval(expression.strip(), engine="python")
    values = np.broadcast_to(np.asarray(found, dtype=float), (len(records),))
    cleaned: Array = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    return cleaned


def ranking(settings: Settings, records: pd.DataFrame, risk: Array) -> tuple[Array, Array | None]:
    """What the list is ordered by (risk, or expected loss), and each client's value when the
    list is ranked by value."""
    if settings.call_list_rank_by != "value":
        return risk, None
    value = client_values(settings.call_list_value, records)
    return risk * value, value


def value_columns(frame: pd.DataFrame) -> list[str]:
    """The value columns a list has (none when ranked by risk)."""
    return [column for column in VALUE_COLUMNS if column in frame.columns]
