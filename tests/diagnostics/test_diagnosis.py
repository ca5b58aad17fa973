"""Diagnose: predictions, every part stored and read back, refusals."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from riskwatch.config import Settings
from riskwatch.deployment import deploy
from riskwatch.diagnostics.diagnosis import (
    KINDS,
    diagnose,
    history,
    prediction_summary,
    predictions,
)
from riskwatch.diagnostics.statistics import DiagnosticsError
from riskwatch.diagnostics.timings import measure_timings
from riskwatch.ingestion.ingest import ingest
from riskwatch.model.pipeline import ModelParams
from riskwatch.storage.files import sha256_file
from riskwatch.storage.store import Store
from riskwatch.training import train_model, train_version

from ..conftest import csv_rows
from .conftest import FakeIndex, IndexServer, by_name

AddFile = Callable[[str, str | bytes], Path]
MakeSettings = Callable[..., Settings]


def test_predictions_label_clients_at_the_threshold(practice: pd.DataFrame) -> None:
    model = train_model(practice, ModelParams())
    predicted = predictions(model, practice, 0.5)
    assert list(predicted.columns) == ["corporation", "probability", "label"]
    assert predicted["corporation"].tolist() == practice["corporation"].tolist()
    assert (predicted["label"] == (predicted["probability"] >= 0.5)).all()
    assert predictions(model, practice, 0.0)["label"].eq(1).all()
    summary = prediction_summary(predicted)
    assert summary["rows"] == 26
    assert summary["share_leaving"] == predicted["label"].mean()
    assert list(summary["risk_quantiles"]) == ["q10", "q25", "q50", "q75", "q90"]
    assert prediction_summary(predicted.iloc[:0])["mean_risk"] is None


def test_diagnose_stores_every_part_and_history_reads_it_back(
    demo_settings: Settings, serve: Callable[..., IndexServer]
) -> None:
    settings = dataclasses.replace(demo_settings, package_index_url=serve(FakeIndex).url)
    master = settings.output_folder_path / "finaldata.parquet"
    with Store(settings.database_url) as store:
        version = train_version(settings, store).version
        deploy(settings, store, version)
        before = (sha256_file(master), len(store.batches()))
        diagnosis = diagnose(settings, store)
        assert (sha256_file(master), len(store.batches())) == before  # timed on a copy
        stored = {kind: history(store, kind) for kind in KINDS}
        diagnose(settings, store, timings=False, dependencies=False)
        assert len(history(store, "summary_statistics")) == 2
        assert len(history(store, "timings")) == 1
    for kind in KINDS:
        [row] = stored[kind]
        assert (row["version"], row["created_at"]) == (version, diagnosis.created_at)
        assert row["result"] == diagnosis.parts[kind]
    parts = diagnosis.to_dict()
    assert parts["predictions"]["rows"] == 2000
    assert 0 < parts["predictions"]["mean_risk"] < 1
    assert set(parts["summary_statistics"]) == {
        "lastmonth_activity",
        "lastyear_activity",
        "number_of_employees",
        "exited",
    }
    assert parts["missing_data"]["latest_batch"]["rows_read"] > 0
    rows = len(pd.read_parquet(master))
    assert parts["timings"]["ingestion"]["rows"] == parts["timings"]["training"]["rows"] == rows
    assert parts["timings"]["training"]["seconds"] > 0
    dependencies = by_name(parts["dependencies"])
    assert not any(row["changed_since_training"] for row in dependencies.values())
    assert dependencies["pandas"]["latest"] == "99.0"
    assert f"deployed model: {version}" in diagnosis.summary()


def test_diagnose_without_a_deployed_model_runs_the_other_parts(
    make_settings: MakeSettings, add_file: AddFile, serve: Callable[..., IndexServer]
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0", "y,2,24,4,1", "z,,36,5,0"))
    settings = make_settings(package_index_url=serve(FakeIndex).url)
    ingest(settings)
    with Store(settings.database_url) as store:
        diagnosis = diagnose(settings, store)
        assert [row["version"] for row in history(store, "predictions")] == [None]
    parts = diagnosis.parts
    assert parts["predictions"]["deployed"] is False
    assert "riskwatch deploy" in parts["predictions"]["reason"]
    assert parts["summary_statistics"]["lastyear_activity"]["mean"] == 18.0
    assert parts["missing_data"]["latest_batch"]["shares"]["lastmonth_activity"] == 1 / 3
    # Two rows cannot train a model: the timing says why instead of failing the diagnosis.
    assert parts["timings"]["training"]["seconds"] is None
    assert "at least 10 are needed" in parts["timings"]["training"]["reason"]
    assert by_name(parts["dependencies"])["numpy"]["recorded"] is None
    assert "Predictions: no model is deployed" in diagnosis.summary()


def test_diagnose_and_timings_refuse_an_empty_master_dataset(make_settings: MakeSettings) -> None:
    settings = make_settings()
    with (
        Store(settings.database_url) as store,
        pytest.raises(DiagnosticsError, match="run `riskwatch ingest` first"),
    ):
        diagnose(settings, store)
    with pytest.raises(DiagnosticsError, match="run `riskwatch ingest` first"):
        measure_timings(settings)


def test_history_refuses_an_unknown_kind(make_settings: MakeSettings) -> None:
    with (
        Store(make_settings().database_url) as store,
        pytest.raises(DiagnosticsError, match=r"no diagnostic called 'drfit'; they are: .*drift"),
    ):
        history(store, "drfit")
