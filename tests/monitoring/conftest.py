"""The monitoring tests' shared settings and the demo's drops, built once per scenario."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from riskwatch.config import Settings
from riskwatch.demo.workspace import create_demo
from riskwatch.monitoring.drift import FeatureDrift

from ..conftest import Workspace, private_copy, workspace_settings

# 200 resamples keep the demo tests quick; the interval's ends move by about 0.002 from 1,000.
SETTINGS = Settings(bootstrap_resamples=200)

MONTHS = 4


@dataclasses.dataclass(frozen=True)
class Demo:
    drift_month: int
    months: dict[int, pd.DataFrame]


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Demo]:
    """The demo's drops for a scenario, drift (if any) in the last month; built once each."""
    built: dict[str, Demo] = {}

    def build(scenario: str) -> Demo:
        if scenario not in built:
            folder = tmp_path_factory.mktemp(scenario)
            drift: dict[str, Any] = {} if scenario == "none" else {"drift_month": MONTHS}
            create_demo(folder, months=MONTHS, seed=42, scenario=scenario, **drift)
            truth = json.loads((folder / "truth" / "truth.json").read_text())
            months = {m: read_drop(folder, m) for m in range(1, MONTHS + 1)}
            built[scenario] = Demo(truth["drift_month"] or MONTHS, months)
        return built[scenario]

    return build


def read_drop(folder: Path, month: int) -> pd.DataFrame:
    return pd.read_csv(folder / "drops" / f"month_{month:02d}.csv")


def drifted(results: list[FeatureDrift]) -> list[str]:
    return [r.feature for r in results if r.drifted]


@pytest.fixture(scope="session")
def deployed_ws(
    deployed_template: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> Workspace:
    """A 2,000-client demo trained and deployed on month 1, month 2 ingested (read only)."""
    path = private_copy(deployed_template(months=3, seed=3, later=1), tmp_path_factory, "deployed")
    return Workspace(path, workspace_settings(path))
