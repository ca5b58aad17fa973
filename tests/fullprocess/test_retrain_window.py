"""The retrain deploys the model its shadow challenger judged, however many batches a cycle
judges at once."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from riskwatch.demo.workspace import release_month
from riskwatch.fullprocess.cycle import run_cycle
from riskwatch.model.registry import read_metadata

from ..conftest import copy_workspace


def test_a_refit_after_two_new_batches_trains_on_the_rows_its_shadow_counted(
    deployed_template: Callable[..., Path], tmp_path: Path
) -> None:
    ws = copy_workspace(deployed_template(months=3, seed=5), tmp_path)
    release_month(ws.path, 2)
    release_month(ws.path, 3)
    # A refresh on any challenger with at least production's rows: the retrain always runs.
    settings = dataclasses.replace(
        ws.settings, shadow_refresh_growth=1.0, shadow_refresh_margin=1.0
    )
    result = run_cycle(settings, report=False)
    assert result.error is None, result.error
    steps = {step.name: step for step in result.steps}
    retrain, judged = steps["retrain"], steps["ingest"].detail["judged_batch_ids"]
    shadow = retrain.detail["shadow"]
    assert shadow["newest_batches"] == len(judged) >= 2
    assert retrain.outcome == "promoted", shadow["evidence"]
    trained = read_metadata(settings.output_model_path, retrain.detail["challenger"])
    # Before, a window of "the newest batch" refit on month 3 alone while counting months 2
    # and 3 as its rows: a refresh judged on twice the rows its model trained on.
    assert trained["training"]["rows"] == shadow["refit_rows"]
