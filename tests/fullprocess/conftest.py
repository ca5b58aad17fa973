"""What the cycle modules share: a demo's months replayed one cycle each."""

from __future__ import annotations

from riskwatch.config import Settings
from riskwatch.demo.workspace import release_month
from riskwatch.fullprocess import CycleResult, run_cycle


def replay_months(settings: Settings, months: int) -> list[CycleResult]:
    """Release months 1..months of a demo one by one, a cycle (without a report) after each."""
    results = []
    for month in range(1, 1 + months):
        release_month(settings.workspace, month)
        results.append(run_cycle(settings, report=False))
    return results
