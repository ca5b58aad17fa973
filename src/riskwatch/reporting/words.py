"""Plain words the report's parts share: counts with their nouns, lists, columns and metrics."""

from __future__ import annotations

from riskwatch.scoring import LABELS

PLAIN = {  # the columns in the managers' words
    "lastmonth_activity": "last month's activity",
    "lastyear_activity": "activity over the last year",
    "number_of_employees": "company size",
    "predicted_risk": "predicted risk",
}


def count(number: int, thing: str, things: str | None = None) -> str:
    """'1 batch', '2 batches': a number with its noun in the right form."""
    return f"{number:,} {thing if number == 1 else (things or thing + 's')}"


def join(words: list[str]) -> str:
    """'a', 'a and b', 'a, b and c': words as a list in a sentence."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def metric_name(name: str) -> str:
    """A metric's name as the report writes it ('ROC AUC' for roc_auc)."""
    return LABELS.get(name, name)
