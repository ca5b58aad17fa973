"""What a cycle decided, step by step, with the numbers behind each decision."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Step:
    """One step of a cycle: what it found or decided, and the evidence."""

    name: str
    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class CycleResult:
    """A whole cycle: when, why, each step, and how it ended."""

    trigger: str
    started_at: str
    finished_at: str = ""
    outcome: str = "running"  # no new data | initial | kept | promoted | rejected | failed
    steps: list[Step] = field(default_factory=list)
    error: str | None = None
    cycle_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The cycle as JSON-ready values."""
        return asdict(self)

    def summary(self) -> str:
        """The cycle as readable lines: one per step, then the outcome."""
        lines = [
            f"Cycle {self.cycle_id or ''} ({self.trigger}) at {self.started_at}:".replace("  ", " ")
        ]
        for step in self.steps:
            lines.append(f"  {step.name:<14} {step.outcome}  ({step.seconds:.2f} s)")
            said = step.detail.get("reason")
            if said:
                lines.append(f"  {'':<14} {said}")
        ending = f"failed: {self.error}" if self.error else self.outcome
        lines.append(f"Outcome: {ending}")
        return "\n".join(lines)
