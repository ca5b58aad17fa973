"""Fixed schedules: never retrain, or retrain after every drop on all data or the last N drops."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import pandas as pd

from riskwatch.backtest.history import Drop
from riskwatch.backtest.runs import PolicyRun
from riskwatch.backtest.scores import score_month
from riskwatch.config import Settings
from riskwatch.model.pipeline import predict_risk
from riskwatch.schema import TARGET
from riskwatch.training import fit_chosen

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Schedule:
    """A fixed schedule: whether it retrains after each drop, and on how many drops (None: all)."""

    retrain: bool
    window: int | None = None

    @property
    def name(self) -> str:
        """The schedule in words, as the table shows it."""
        if not self.retrain:
            return "never retrain"
        if self.window is None:
            return "retrain monthly on all data"
        drops = "drop" if self.window == 1 else f"{self.window} drops"
        return f"retrain monthly on the last {drops}"


def schedules(windows: tuple[int, ...]) -> list[Schedule]:
    """Never, monthly on all data, and monthly on each window of the last N drops."""
    return [Schedule(False), Schedule(True), *(Schedule(True, n) for n in windows)]


def run_schedule(settings: Settings, drops: list[Drop], schedule: Schedule) -> PolicyRun:
    """Replay the drops under a fixed schedule with riskwatch's own model builder."""
    run = PolicyRun(schedule.name)
    # Bootstrap intervals are only evidence in a record; the model and its kind do not use them.
    settings = dataclasses.replace(settings, bootstrap_resamples=0)
    model, _ = fit_chosen(settings, drops[0].rows, None)
    for index in range(1, len(drops)):
        drop = drops[index]
        risks = predict_risk(model, drop.rows)
        labels = drop.rows[TARGET].to_numpy()
        run.months.append(
            score_month(drop.name, labels, risks, drop.truth, settings.call_list_capacity)
        )
        if schedule.retrain and index < len(drops) - 1:  # the last drop's model ranks nothing
            first = 0 if schedule.window is None else max(0, index + 1 - schedule.window)
            rows = pd.concat([d.rows for d in drops[first : index + 1]], ignore_index=True)
            model, _ = fit_chosen(settings, rows, None)
            run.deployments += 1
    log.debug("%s: %d deployments after the first", schedule.name, run.deployments)
    return run
