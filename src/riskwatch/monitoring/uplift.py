"""What calls achieve: churn among held-out and contacted listed clients, by risk band."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from scipy.stats import norm

CONFIDENCE = 0.95
# Below this many clients with a known outcome in either group, a difference of churn rates is
# mostly noise (at 6 % churn, 30 clients hold about 2 leavers): say so instead of a number.
MIN_KNOWN = 30


@dataclass(frozen=True)
class Rate:
    """A proportion with its Wilson score interval."""

    left: int
    known: int
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class GroupComparison:
    """One band's churn among held-out and contacted clients, and the calls' effect on it."""

    band: str
    held_out: Rate
    contacted: Rate
    # Held-out churn minus contacted churn: the share of leavers a call kept, if positive.
    lift: float | None
    low: float | None
    high: float | None
    enough: bool
    why_not: str


@dataclass(frozen=True)
class Outcome:
    """One listed client whose outcome is known: its band, group and whether it left."""

    band: str
    held_out: bool
    contacted: bool
    left: bool


def _z() -> float:
    return float(norm.ppf(0.5 + CONFIDENCE / 2))


def wilson(left: int, known: int) -> Rate:
    """The share that left, with its Wilson score interval (undefined when nobody is known)."""
    if known == 0:
        return Rate(left, known, None, None, None)
    z, p = _z(), left / known
    centre = (p + z * z / (2 * known)) / (1 + z * z / known)
    half = z * math.sqrt(p * (1 - p) / known + z * z / (4 * known * known)) / (1 + z * z / known)
    return Rate(left, known, p, max(0.0, centre - half), min(1.0, centre + half))


def newcombe(first: Rate, second: Rate) -> tuple[float | None, float | None, float | None]:
    """first - second with Newcombe's hybrid score interval (his method 10, 1998)."""
    p1, l1, u1 = first.value, first.low, first.high
    p2, l2, u2 = second.value, second.low, second.high
    if p1 is None or l1 is None or u1 is None or p2 is None or l2 is None or u2 is None:
        return None, None, None
    difference = p1 - p2
    below, above = math.hypot(p1 - l1, u2 - p2), math.hypot(u1 - p1, p2 - l2)
    return difference, difference - below, difference + above


def _why_not(held_out: Rate, contacted: Rate) -> str:
    short = [
        f"{rate.known} {name} client{'s' if rate.known != 1 else ''} with a known outcome"
        for name, rate in (("held-out", held_out), ("contacted", contacted))
        if rate.known < MIN_KNOWN
    ]
    return f"not enough data yet: {' and '.join(short)} ({MIN_KNOWN} needed)" if short else ""


def compare(band: str, outcomes: Iterable[Outcome]) -> GroupComparison:
    """Churn of held-out vs contacted clients among the outcomes given (one band, or all)."""
    rows = list(outcomes)
    held = [row.left for row in rows if row.held_out]
    called = [row.left for row in rows if not row.held_out and row.contacted]
    held_out, contacted = wilson(sum(held), len(held)), wilson(sum(called), len(called))
    lift, low, high = newcombe(held_out, contacted)
    why_not = _why_not(held_out, contacted)
    return GroupComparison(band, held_out, contacted, lift, low, high, not why_not, why_not)


def compare_by_band(outcomes: Iterable[Outcome], bands: Iterable[str]) -> list[GroupComparison]:
    """One comparison per band in the order given, then one over all bands ("all")."""
    rows = list(outcomes)
    per_band = [compare(band, (row for row in rows if row.band == band)) for band in bands]
    return [*per_band, compare("all", rows)]
