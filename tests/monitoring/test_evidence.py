"""What monitoring judges on: the newest batch's rows, the reference sample, holdout scores."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from riskwatch.ingestion.datasets import read_labelled
from riskwatch.ingestion.master import read_master
from riskwatch.model.registry import METADATA_FILE, Loaded, load_deployed, read_deployment
from riskwatch.monitoring.evidence import (
    holdout_evidence,
    judged_rows,
    newest_data,
    read_reference,
    score_holdout,
)
from riskwatch.schema import BATCH_COLUMN
from riskwatch.scoring import evaluate, metric_value
from riskwatch.storage.files import read_json
from riskwatch.storage.store import Store

from ..conftest import Workspace


def test_the_newest_data_is_the_highest_batch_by_name_and_not_in_the_models_training(
    deployed_ws: Workspace,
) -> None:
    settings = deployed_ws.settings
    master = read_master(settings.output_folder_path)
    deployed = read_deployment(settings.prod_deployment_path)
    assert deployed is not None
    metadata = read_json(deployed.folder / METADATA_FILE) or {}
    with Store(settings.database_url) as store:
        newest = newest_data(master, store, metadata)
        trained = newest_data(master, store, {"training": {"batch_ids": [2]}})
    assert (newest.name, newest.batch_id, newest.in_training) == ("month_02.csv", 2, False)
    assert len(newest.frame) == int((master[BATCH_COLUMN] == 2).sum())
    assert trained.in_training


def test_a_master_without_batch_column_counts_whole_as_training_data(
    deployed_ws: Workspace,
) -> None:
    classic = read_master(deployed_ws.settings.output_folder_path).drop(columns=[BATCH_COLUMN])
    with Store(deployed_ws.settings.database_url) as store:
        newest = newest_data(classic, store, {})
    assert (newest.name, newest.batch_id, newest.in_training) == ("the master dataset", None, True)


def test_judged_rows_are_the_master_rows_of_the_judged_batches(deployed_ws: Workspace) -> None:
    settings = deployed_ws.settings
    master = read_master(settings.output_folder_path)
    rows = judged_rows(settings, [2])
    assert set(rows[BATCH_COLUMN]) == {2}
    assert len(rows) == int((master[BATCH_COLUMN] == 2).sum())
    assert len(judged_rows(settings, [1, 2])) == len(master)
    assert judged_rows(settings, [9]).empty


def test_the_reference_is_read_from_the_deployment_else_the_version_folder_else_none(
    deployed_ws: Workspace, tmp_path: Path
) -> None:
    settings = deployed_ws.settings
    deployed = read_deployment(settings.prod_deployment_path)
    assert deployed is not None
    found = read_reference(settings, deployed)
    assert isinstance(found, pd.DataFrame) and not found.empty
    elsewhere = dataclasses.replace(deployed, folder=tmp_path)  # no reference.parquet there
    pd.testing.assert_frame_equal(read_reference(settings, elsewhere), found)
    unknown = dataclasses.replace(elsewhere, version="20000101T000000000000Z")
    assert read_reference(settings, unknown) is None


def test_holdout_scores_are_the_scoring_steps_numbers_with_the_model_file_named(
    deployed_ws: Workspace,
) -> None:
    settings = deployed_ws.settings
    deployed, model = load_deployed(settings.prod_deployment_path)
    frame = read_labelled(settings.test_data_path)
    scored = score_holdout(settings, model, frame, deployed.sha256)
    assert scored.metrics == evaluate(model, frame, settings)
    for name, metric in scored.metrics.items():  # a value alone is the same number
        assert metric_value(model, frame, settings, name) == metric.value
    assert (len(scored.labels), len(scored.risks)) == (len(frame), len(frame))
    assert 0 < scored.resamples <= settings.bootstrap_resamples
    assert (scored.sha256, scored.path) == (deployed.sha256, str(settings.test_data_path))


def test_holdout_evidence_scores_production_now_and_keeps_its_scores(
    deployed_ws: Workspace,
) -> None:
    settings = deployed_ws.settings
    version = read_deployment(settings.prod_deployment_path).version  # type: ignore[union-attr]
    held: Loaded = {}
    # The deployed version stands in for both: its record and a score made now must agree.
    values, scored = holdout_evidence(settings, version, version, held)
    assert scored is not None and list(held) == [scored.sha256]
    assert values["metric"] == settings.gate_metric
    assert values["production"] == pytest.approx(values["challenger"])
    assert values["production"] == scored.metrics[settings.gate_metric].value
    alone, none = holdout_evidence(settings, version, None, held)
    assert none is None and "production" not in alone
    # Production replaced: the same value, and no scores held for a report.
    replaced, kept = holdout_evidence(settings, version, version, held, replaced=True)
    assert kept is None and replaced == values
