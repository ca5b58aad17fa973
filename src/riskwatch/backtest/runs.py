"""What one policy did over a history: the scores of the drops it ranked, its deployments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from riskwatch.backtest.scores import MonthScore, mean_of

FIGURES = ("of_oracle", "precision_at_k", "roc_auc", "brier")


@dataclass
class PolicyRun:
    """One policy's replay: each later drop scored by the model deployed before it."""

    policy: str
    months: list[MonthScore] = field(default_factory=list)
    deployments: int = 0  # after the first model
    decisions: list[str] = field(default_factory=list)  # per drop, for riskwatch's policy

    def means(self) -> dict[str, float | None]:
        """The mean of each figure over the scored drops."""
        return {name: mean_of(self.months, name) for name in FIGURES}

    def to_dict(self) -> dict[str, Any]:
        """The run as JSON-ready values."""
        return {
            "policy": self.policy,
            "deployments_after_first": self.deployments,
            "means": self.means(),
            "decisions": self.decisions,
            "months": [m.to_dict() for m in self.months],
        }
