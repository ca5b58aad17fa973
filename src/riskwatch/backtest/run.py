"""The policy benchmark: riskwatch's policy against fixed schedules on one workspace's history."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from riskwatch.backtest.history import load_history
from riskwatch.backtest.policy import run_policy
from riskwatch.backtest.runs import PolicyRun
from riskwatch.backtest.schedules import run_schedule, schedules
from riskwatch.config import Settings

log = logging.getLogger(__name__)
DEFAULT_WINDOWS = (1, 3)


@dataclass(frozen=True)
class Backtest:
    """Every policy's replay of the same drops, and what the scores mean."""

    drops: list[str]
    k: int
    truth_known: bool
    runs: list[PolicyRun]

    def to_dict(self) -> dict[str, Any]:
        """The backtest as JSON-ready values."""
        return {
            "drops": self.drops,
            "k": self.k,
            "truth_known": self.truth_known,
            "policies": [run.to_dict() for run in self.runs],
        }

    def table(self) -> list[str]:
        """The comparison as Markdown table lines, one row per policy."""
        oracle = [f"mean p@{self.k} / oracle"] if self.truth_known else []
        head = ["policy", *oracle, f"mean p@{self.k}", "mean ROC AUC", "mean Brier"]
        lines = [
            "| " + " | ".join([*head, "deployments after the first"]) + " |",
            "|---|" + "---:|" * (len(head)),
        ]
        for run in self.runs:
            means = run.means()
            figures = ["of_oracle"] if self.truth_known else []
            figures += ["precision_at_k", "roc_auc", "brier"]
            cells = [_number(means[name]) for name in figures]
            lines.append(f"| {run.policy} | " + " | ".join(cells) + f" | {run.deployments} |")
        return lines


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def backtest(
    settings: Settings,
    *,
    windows: tuple[int, ...] = DEFAULT_WINDOWS,
    on_policy: Callable[[str], None] | None = None,
) -> Backtest:
    """Replay the workspace's drops under riskwatch's policy and the fixed schedules."""
    drops = load_history(settings)
    runs = []
    for schedule in schedules(windows):
        if on_policy is not None:
            on_policy(schedule.name)
        runs.append(run_schedule(settings, drops, schedule))
    if on_policy is not None:
        on_policy("riskwatch")
    runs.append(run_policy(settings, drops))
    return Backtest(
        drops=[d.name for d in drops],
        k=settings.call_list_capacity,
        truth_known=all(d.truth is not None for d in drops[1:]),
        runs=runs,
    )
