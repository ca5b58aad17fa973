"""The demo's story: publish each monthly drop in turn and run one monitored cycle for it."""

from __future__ import annotations

from collections.abc import Callable

from riskwatch.config import Settings
from riskwatch.demo.calls import call_the_list
from riskwatch.demo.workspace import demo_months, release_month
from riskwatch.fullprocess.cycle import run_cycle
from riskwatch.fullprocess.result import CycleResult
from riskwatch.storage import open_store


def replay_demo(
    settings: Settings,
    *,
    months: int | None = None,
    on_cycle: Callable[[int, CycleResult], None] | None = None,
) -> list[CycleResult]:
    """One cycle per monthly drop of a demo workspace, each followed by the managers' calls to
    the list it published; the report is built on the last one (each earlier report would be
    replaced at once). Stops at a failed cycle."""
    total = demo_months(settings.workspace)
    last = total if months is None else min(months, total)
    results, played = [], None
    for month in range(1, last + 1):
        release_month(settings.workspace, month)
        result = run_cycle(settings, trigger="replay", report=month == last)
        results.append(result)
        if on_cycle is not None:
            on_cycle(month, result)
        if result.error:
            break
        with open_store(settings) as store:
            played = call_the_list(settings.workspace, store, month, played)
    return results
