"""riskwatch's own policy replayed: one real monitored cycle per drop, in a private copy."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from riskwatch.backtest.history import BacktestError, Drop
from riskwatch.backtest.runs import PolicyRun
from riskwatch.backtest.scores import score_month
from riskwatch.config import Settings
from riskwatch.fullprocess.cycle import run_cycle
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.registry import load_deployed
from riskwatch.schema import REQUIRED, TARGET

POLICY_NAME = "riskwatch"
SANDBOX_DB = "riskwatch.db"


def sandbox(settings: Settings, folder: Path) -> Settings:
    """The settings with every folder and the database inside ``folder`` (the holdout copied):
    the replay reads the user's workspace and writes nothing there."""
    holdout = folder / "testdata"
    holdout.mkdir(parents=True)
    if settings.test_data_path.is_dir():
        shutil.copytree(settings.test_data_path, holdout, dirs_exist_ok=True)
    elif settings.test_data_path.is_file():
        shutil.copy2(settings.test_data_path, holdout / settings.test_data_path.name)
    return dataclasses.replace(
        settings,
        workspace=folder,
        config_file=None,
        input_folder_path=folder / "sourcedata",
        output_folder_path=folder / "ingesteddata",
        test_data_path=holdout,
        output_model_path=folder / "models",
        prod_deployment_path=folder / "production_deployment",
        reports_path=folder / "reports",
        database_url=f"sqlite:///{folder / SANDBOX_DB}",
        source="folder",
        source_patterns=("*.csv",),
        cycle_apicalls=False,
    )


def run_policy(settings: Settings, drops: list[Drop]) -> PolicyRun:
    """Release the drops one by one to riskwatch's cycle (evaluate, retrain, promotion gate)
    and score each drop with the model production held before it arrived."""
    run = PolicyRun(POLICY_NAME)
    with tempfile.TemporaryDirectory(prefix="riskwatch-backtest-") as folder:
        copy = sandbox(settings, Path(folder))
        copy.input_folder_path.mkdir()
        width = len(str(len(drops)))
        for index, drop in enumerate(drops[:-1]):  # the last drop's decision ranks nothing
            path = copy.input_folder_path / f"drop_{index + 1:0{width}d}.csv"
            drop.rows[list(REQUIRED)].to_csv(path, index=False, lineterminator="\n")
            result = run_cycle(copy, trigger="backtest", report=False)
            if result.error:
                raise BacktestError(f"the cycle on {drop.name} failed: {result.error}")
            run.decisions.append(result.outcome)
            run.deployments += result.outcome == "promoted"
            _, model = load_deployed(copy.prod_deployment_path)
            following = drops[index + 1]
            risks = predict_risk(model, following.rows)
            labels = following.rows[TARGET].to_numpy()
            run.months.append(
                score_month(
                    following.name, labels, risks, following.truth, settings.call_list_capacity
                )
            )
    return run
