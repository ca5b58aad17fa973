"""Why a client's risk is high, in words: the features that push it up, against typical values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.model.pipeline import predict_risk
from riskwatch.schema import FEATURES

MIN_PUSH = 0.01  # a feature must move the risk by a percentage point to be named as a reason
MAX_REASONS = 3
NO_REASON = "no single feature stands out"


def risks_and_pushes(
    model: Any, frame: pd.DataFrame, medians: dict[str, float]
) -> tuple[np.ndarray[Any, Any], pd.DataFrame]:
    """Each client's risk, and how much each feature raises it against a typical value."""
    month, year = frame["lastmonth_activity"], frame["lastyear_activity"]
    variants = [frame]
    for feature in FEATURES:
        typical = frame.copy()
        if feature == "lastmonth_activity":  # typical for this client: its own monthly pace
            typical[feature] = (year / 12).round().astype("int64")
        else:  # typical for clients: the training data's median
            typical[feature] = round(medians[feature])
        if feature == "lastyear_activity":
            # Keep last month in step with the year, so this names the client's scale of
            # activity and leaves last month's drop to the lastmonth_activity reason.
            scale = typical[feature] / year.where(year > 0, np.nan)
            typical["lastmonth_activity"] = (month * scale).fillna(month).round().astype("int64")
        variants.append(typical)
    # One call for the clients and their variants: a call has a fixed cost that a single
    # client's request would otherwise pay four times.
    risks = predict_risk(model, pd.concat(variants, ignore_index=True)).reshape(len(variants), -1)
    push = {feature: risks[0] - risks[i + 1] for i, feature in enumerate(FEATURES)}
    return risks[0], pd.DataFrame(push, index=frame.index)


def pushes(model: Any, frame: pd.DataFrame, medians: dict[str, float]) -> pd.DataFrame:
    """How much each feature raises each client's risk against a typical value of it."""
    return risks_and_pushes(model, frame, medians)[1]


EXTREME = 75  # beyond this share of clients (%) a value is low/small or high/large, else middling
SHARE_CAP = 99  # a client is one of the clients: never "lower than 100% of clients"


def shares(points: list[float], value: float) -> tuple[int, int]:
    """The shares (%) of clients surely below and surely above value, from percentile points."""
    under = int(np.searchsorted(points, value, side="left"))
    over = len(points) - int(np.searchsorted(points, value, side="right"))
    return _share(under, len(points)), _share(over, len(points))


def _share(count: int, total: int) -> int:
    # Beyond every point, all clients are. Beyond k of them, at least k - 1 % are (the first
    # point is the extreme client, 0 %), less under one client as the points interpolate between
    # clients: one point less keeps the share printed true from 100 clients on. Capped, as a
    # client is one of the clients, never lower than 100% of them.
    share = 100 if count == total else max(count - 2, 0)
    return min(share, SHARE_CAP)


def standing(points: list[float], value: float) -> tuple[str, str]:
    """low, middle or high among clients, and the share that says so, in words."""
    below, above = shares(points, value)
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


def describe(feature: str, row: Any, percentiles: dict[str, list[float]]) -> str:
    """A feature's value in plain words, for a manager."""
    if feature == "lastmonth_activity":
        return _describe_month(row.lastmonth_activity, row.lastyear_activity / 12)
    value = getattr(row, feature)
    if feature == "lastyear_activity" and value == 0:
        return "no activity over the last year"
    level, than = standing(percentiles[feature], value)
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
    order = np.argsort(-push, axis=1, kind="stable")[:, :MAX_REASONS]
    named = np.take_along_axis(push, order, axis=1) >= MIN_PUSH
    texts = []
    for row, features, keep in zip(frame.itertuples(index=False), order, named, strict=True):
        words = [describe(FEATURES[f], row, percentiles) for f in features[keep]]
        texts.append(list(dict.fromkeys(words)))  # one fact named once
    return texts


def reasons(model: Any, frame: pd.DataFrame, reference: dict[str, Any]) -> list[list[str]]:
    """Each client's reasons, as the call list shows them (NO_REASON when none stands out)."""
    return [words or [NO_REASON] for words in reason_lists(model, frame, reference)]
