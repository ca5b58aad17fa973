"""What calls achieve, in plain words: the control group's comparison for the managers."""

from __future__ import annotations

from typing import Any

from riskwatch.monitoring.calls import CallEffect
from riskwatch.monitoring.uplift import CONFIDENCE, MIN_KNOWN, GroupComparison, Rate
from riskwatch.reporting.words import count


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _rate(rate: Rate) -> str:
    """A churn rate with its interval and base, e.g. "12.0% (8.1% to 17.4%) of 150"."""
    if rate.value is None:
        return "no outcome yet"
    return f"{_share(rate.value)} ({_share(rate.low)} to {_share(rate.high)}) of {rate.known:,}"


def _points(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.1f} pts"


def lift_sentence(comparison: GroupComparison) -> str:
    """What the calls changed over all bands, or why it cannot be said yet."""
    if not comparison.enough:
        why = comparison.why_not.removeprefix("not enough data yet: ")
        return f"Not enough data yet to say what calls achieve: {why}."
    held, called = comparison.held_out, comparison.contacted
    interval = f"{CONFIDENCE:.0%} interval {_points(comparison.low)} to {_points(comparison.high)}"
    if comparison.low is not None and comparison.low > 0:
        verdict = "Calls kept clients"
    elif comparison.high is not None and comparison.high < 0:
        verdict = "Contacted clients left more often than held-out ones"
    else:
        verdict = "No clear effect of calls yet (the difference could be chance)"
    return (
        f"{verdict}: {_share(held.value)} of {count(held.known, 'held-out client')} left, "
        f"{_share(called.value)} of {count(called.known, 'contacted client')}; a difference "
        f"of {_points(comparison.lift)} ({interval})."
    )


def calls_lines(effect: CallEffect) -> list[str]:
    """The comparison's sentences for the managers' summary."""
    if effect.lists == 0:
        return [
            "No published list has a control group yet: from the next list on, a share of the "
            "listed clients is held out (not to be called), so this comparison can be made."
        ]
    basis = (
        f"{count(effect.lists, 'published list')} with a control group; "
        f"{count(effect.known, 'listed client')} of {effect.listed:,} with a known outcome "
        f"so far (clients in a later data batch)."
    )
    return [lift_sentence(effect.overall()), basis]


def calls_rows(effect: CallEffect) -> list[dict[str, Any]]:
    """One row per band (then all): held-out and contacted churn and the difference."""
    return [
        {
            "band": comparison.band,
            "held_out": _rate(comparison.held_out),
            "contacted": _rate(comparison.contacted),
            "difference": (
                f"{_points(comparison.lift)} ({_points(comparison.low)} to "
                f"{_points(comparison.high)})"
                if comparison.enough
                else f"not enough data yet ({MIN_KNOWN} of each needed)"
            ),
        }
        for comparison in effect.comparisons
    ]
