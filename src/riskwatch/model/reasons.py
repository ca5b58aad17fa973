"""Why a client's risk is high, in words: the features that push it up, against typical values."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.model.fastpath import MONTH, YEAR, Array, prepare
from riskwatch.schema import FEATURES

MIN_PUSH = 0.01  # a feature must move the risk by a percentage point to be named as a reason
MAX_REASONS = 3
NO_REASON = "no single feature stands out"


def typical_variants(counts: Array, medians: dict[str, float]) -> Array:
    """The clients' counts (FEATURES order), then for each feature the same clients with that
    feature at a typical value: (1 + len(FEATURES)) blocks of rows, one after another."""
    counts = np.asarray(counts, dtype="float64")
    month, year = counts[:, MONTH], counts[:, YEAR]
    variants = [counts]
    for column, feature in enumerate(FEATURES):
        typical = counts.copy()
        if feature == "lastmonth_activity":  # typical for this client: its own monthly pace
            typical[:, column] = np.round(year / 12)
        else:  # typical for clients: the training data's median
            typical[:, column] = round(medians[feature])
        if feature == "lastyear_activity":
            # Keep last month in step with the year, so this names the client's scale of
            # activity and leaves last month's drop to the lastmonth_activity reason.
            scale = typical[:, column] / np.where(year > 0, year, np.nan)
            typical[:, MONTH] = np.round(np.where(np.isnan(scale), month, month * scale))
        variants.append(typical)
    return np.concatenate(variants)


def risk_and_push(
    predict: Callable[[Array], Array], counts: Array, medians: dict[str, float]
) -> tuple[Array, Array]:
    """Each client's risk, and how much each feature (a column) raises it against a typical
    value, with predict giving the probabilities of rows of counts."""
    # One call for the clients and their variants: a call has a fixed cost that a single
    # client's request would otherwise pay four times.
    risks = predict(typical_variants(counts, medians)).reshape(1 + len(FEATURES), -1)
    return risks[0], (risks[0] - risks[1:]).T


def risks_and_pushes(
    model: Any, frame: pd.DataFrame, medians: dict[str, float]
) -> tuple[Array, pd.DataFrame]:
    """Each client's risk, and how much each feature raises it against a typical value."""
    predict = prepare(model).predict_repeated
    risk, push = risk_and_push(predict, frame[list(FEATURES)].to_numpy("float64"), medians)
    return risk, pd.DataFrame(push, columns=list(FEATURES), index=frame.index)


def pushes(model: Any, frame: pd.DataFrame, medians: dict[str, float]) -> pd.DataFrame:
    """How much each feature raises each client's risk against a typical value of it."""
    return risks_and_pushes(model, frame, medians)[1]


EXTREME = 75  # beyond this share of clients (%) a value is low/small or high/large, else middling
SHARE_CAP = 99  # a client is one of the clients: never "lower than 100% of clients"


def shares(points: list[float], value: float) -> tuple[int, int]:
    """The shares (%) of clients surely below and surely above value, from percentile points."""
    below, above = many_shares(points, np.asarray([value]))
    return int(below[0]), int(above[0])


def many_shares(points: list[float], values: Array) -> tuple[Array, Array]:
    """The shares of many values at once: one search for them all."""
    edges, total = np.asarray(points, dtype="float64"), len(points)
    under = np.searchsorted(edges, values, side="left")
    over = total - np.searchsorted(edges, values, side="right")
    return _share(under, total), _share(over, total)


def _share(count: Array, total: int) -> Array:
    # Beyond every point, all clients are. Beyond k of them, at least k - 1 % are (the first
    # point is the extreme client, 0 %), less under one client as the points interpolate between
    # clients: one point less keeps the share printed true from 100 clients on. Capped, as a
    # client is one of the clients, never lower than 100% of them.
    share = np.where(count == total, 100, np.maximum(count - 2, 0))
    return np.minimum(share, SHARE_CAP)


def standing(
    points: list[float], value: float, found: tuple[int, int] | None = None
) -> tuple[str, str]:
    """low, middle or high among clients, and the share that says so, in words (found: the
    value's shares, when already known)."""
    below, above = found if found is not None else shares(points, value)
    level = "low" if above >= EXTREME else "high" if below >= EXTREME else "middle"
    if above > 50:
        return level, f"lower than {above}% of clients"
    if below > 50:
        return level, f"higher than {below}% of clients"
    return level, "about the median of clients"


WORDS = {  # the feature's words for each standing, chosen from the share printed beside them
    "lastyear_activity": {
        "low": "low activity over the last year",
        "middle": "moderate activity over the last year",
        "high": "high activity over the last year",
    },
    "number_of_employees": {
        "low": "a small company",
        "middle": "a mid-sized company",
        "high": "a large company",
    },
}


def describe(
    feature: str,
    row: Any,
    percentiles: dict[str, list[float]],
    found: tuple[int, int] | None = None,
) -> str:
    """A feature's value in plain words, for a manager (found: its shares, if known)."""
    if feature == "lastmonth_activity":
        return _describe_month(row.lastmonth_activity, row.lastyear_activity / 12)
    value = getattr(row, feature)
    if feature == "lastyear_activity" and value == 0:
        return "no activity over the last year"
    level, than = standing(percentiles[feature], value, found)
    if feature == "number_of_employees":
        people = "employee" if value == 1 else "employees"
        than = than.replace("lower", "smaller").replace("higher", "larger")
        return f"{WORDS[feature][level]} ({value:,} {people}, {than})"
    return f"{WORDS[feature][level]} ({value:,}, {than})"


def _describe_month(month: int, pace: float) -> str:
    if pace == 0:
        return "no activity over the last year"
    average = f"{pace:,.1f}" if pace < 10 else f"{pace:,.0f}"  # a pace of 0.4 is not "0"
    if month == 0:
        return f"no activity last month (its monthly average is {average})"
    change = month / pace - 1
    # Rounded down: "100% below" would say there was no activity at all.
    points = math.floor(round(abs(change) * 100, 6))
    if points == 0:
        return "last month's activity is within 1% of its monthly average"
    direction = "below" if change < 0 else "above"
    return f"last month's activity is {points}% {direction} its monthly average"


def reason_lists(model: Any, frame: pd.DataFrame, reference: dict[str, Any]) -> list[list[str]]:
    """For each client, the features that push its risk up most, in plain words."""
    push = pushes(model, frame, reference["medians"])
    return reason_words(push.to_numpy(), frame, reference["percentiles"])


def reason_words(
    push: np.ndarray[Any, Any], frame: pd.DataFrame, percentiles: dict[str, list[float]]
) -> list[list[str]]:
    """The features with the largest pushes (at least MIN_PUSH) of each client, in words."""
    return reason_texts(push, frame.itertuples(index=False), percentiles)


def reason_texts(
    push: np.ndarray[Any, Any], rows: Iterable[Any], percentiles: dict[str, list[float]]
) -> list[list[str]]:
    """reason_words for rows that have the features as attributes (records, API clients)."""
    order = np.argsort(-push, axis=1, kind="stable")[:, :MAX_REASONS]
    named = np.take_along_axis(push, order, axis=1) >= MIN_PUSH
    rows = list(rows)
    # Every client's shares in one search a feature: one search a value costs more than the
    # words for 10,000 clients.
    found: dict[str, tuple[list[int], list[int]]] = {}
    for feature in WORDS:
        values = np.array([getattr(row, feature) for row in rows])
        below, above = many_shares(percentiles[feature], values)
        found[feature] = below.tolist(), above.tolist()
    texts = []
    # Clients share values: each (feature, values it is told from) is put in words once. Lists,
    # not arrays, in this loop: an array's row or item costs more than the words.
    said: dict[tuple[Any, ...], str] = {}
    for i, (row, features, keep) in enumerate(
        zip(rows, order.tolist(), named.tolist(), strict=True)
    ):
        words = []
        for feature in (FEATURES[f] for f, kept in zip(features, keep, strict=True) if kept):
            key = _told_from(feature, row)
            text = said.get(key)
            if text is None:
                share = found.get(feature)
                known = (share[0][i], share[1][i]) if share is not None else None
                text = said[key] = describe(feature, row, percentiles, known)
            words.append(text)
        texts.append(list(dict.fromkeys(words)))  # one fact named once
    return texts


def _told_from(feature: str, row: Any) -> tuple[Any, ...]:
    """What describe's words for a feature depend on (types too: 12 and 12.0 print apart)."""
    if feature == "lastmonth_activity":
        month, year = row.lastmonth_activity, row.lastyear_activity
        return feature, month, type(month), year, type(year)
    value = getattr(row, feature)
    return feature, value, type(value)


def reasons(model: Any, frame: pd.DataFrame, reference: dict[str, Any]) -> list[list[str]]:
    """Each client's reasons, as the call list shows them (NO_REASON when none stands out)."""
    return [words or [NO_REASON] for words in reason_lists(model, frame, reference)]
