"""The parallel workers' schedule (pytest-xdist, `-n 2 --dist loadgroup`): each module on one
worker, so that its module fixtures are built once there (and the crontab tests never overlap);
the web app's modules all on one, since they share a served demo and a browser; the slowest
units first."""

from __future__ import annotations

from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling

# The test modules that take longest (seconds summed from `pytest --durations`), slowest first:
# with one module per worker, a long one started last bounds the run.
SLOWEST_FIRST = (
    "tests/fullprocess/test_cycle.py",
    "tests/webapp",
    "tests/fullprocess/test_cycle_crashes.py",
    "tests/reporting/test_report.py",
    "tests/cli/test_common.py",
    "tests/fullprocess/test_cycle_estimate.py",
    "tests/api/test_server.py",
    "tests/storage/test_system_postgres.py",
    "tests/cli/test_model_imports.py",
    "tests/cli/test_model.py",
    "tests/api/test_metrics.py",
    "tests/test_training.py",
    "tests/dagster/test_command.py",
    "tests/dagster/test_definitions.py",
    "tests/backtest/test_backtest.py",
)


class ModuleScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """xdist's per-file scheduling, the web app's files one unit, the slowest units first."""

    ordered = False

    def _split_scope(self, nodeid: str) -> str:
        # A scheduler rather than xdist_group marks: pytest-xdist 3.8 groups by a suffix it
        # adds to item._nodeid, which pytest 9.2 no longer reads, so the marks grouped nothing.
        module = nodeid.split("::", 1)[0]
        return "tests/webapp" if module.startswith("tests/webapp/") else module

    def _assign_work_unit(self, node: Any) -> None:
        # xdist orders the units by their count of tests, which put the one-test crash module
        # last: a worker then ran it alone for minutes.
        if not self.ordered:
            for scope in reversed(SLOWEST_FIRST):
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
            self.ordered = True
        super()._assign_work_unit(node)


def module_scheduling(config: pytest.Config, log: Any) -> ModuleScheduling:
    """The scheduler pytest-xdist asks tests/conftest.py for."""
    return ModuleScheduling(config, log)
