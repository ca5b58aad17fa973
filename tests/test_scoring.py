"""Scoring a model: on the holdout or a named file, recorded, with clear errors for bad data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from riskwatch.config import Settings
from riskwatch.deployment import deploy
from riskwatch.ingestion.datasets import DataError, read_labelled
from riskwatch.model.metrics import METRIC_NAMES
from riskwatch.model.registry import RegistryError
from riskwatch.scoring import score
from riskwatch.storage.store import Store, scores
from riskwatch.training import train_version

from .conftest import csv_rows


@pytest.fixture
def store(demo_settings: Settings) -> Store:
    return Store(demo_settings.database_url)


def test_score_rates_the_deployed_model_on_the_holdout(
    demo_settings: Settings, store: Store
) -> None:
    version = train_version(demo_settings, store).version
    deploy(demo_settings, store, version)
    report = score(demo_settings, store)
    assert report.version == version
    assert report.rows == 2000
    assert list(report.to_dict()["metrics"]) == list(METRIC_NAMES)  # F1 first
    auc = report.metrics["roc_auc"]
    assert auc.value is not None and auc.low is not None and auc.high is not None
    assert auc.low <= auc.value <= auc.high
    latest = (demo_settings.output_model_path / "latestscore.txt").read_text()
    assert float(latest) == report.metrics["f1"].value
    recorded = store.rows(scores, version=version)
    assert recorded[-1]["rows"] == 2000
    assert recorded[-1]["metrics"]["f1"]["value"] == report.metrics["f1"].value
    assert "F1" in report.summary().splitlines()[1]


def test_score_a_named_version_on_a_named_file(
    demo_settings: Settings, store: Store, tmp_path: Path
) -> None:
    version = train_version(demo_settings, store).version
    data = tmp_path / "labelled.csv"
    data.write_text(csv_rows("a,10,120,5,0", "b,0,240,3,1", "c,25,300,8,0", "d,1,400,2,1"))
    report = score(demo_settings, store, version=version, data=data)
    assert (report.rows, report.dataset) == (4, str(data))


def test_score_on_one_class_data_reports_undefined_metrics(
    demo_settings: Settings, store: Store, tmp_path: Path
) -> None:
    version = train_version(demo_settings, store).version
    data = tmp_path / "stayers.csv"
    data.write_text(csv_rows("a,10,120,5,0", "b,20,240,3,0"))
    report = score(demo_settings, store, version=version, data=data)
    assert report.metrics["roc_auc"].value is None
    assert "ROC AUC         undefined on this data" in report.summary()
    assert (demo_settings.output_model_path / "latestscore.txt").read_text() == "nan\n"


def test_score_without_a_deployed_model_says_how_to_get_one(
    demo_settings: Settings, store: Store
) -> None:
    with pytest.raises(RegistryError, match=r"no model is deployed .* `riskwatch train`"):
        score(demo_settings, store)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (csv_rows("a,10,120,5,0", "b,-3,240,3,1"), r"1 bad row\(s\): line 3: .*lastmonth_activity"),
        (
            csv_rows(
                "a,10,120,5",
                header="corporation,lastmonth_activity,lastyear_activity,number_of_employees",
            ),
            "exited",
        ),
        ("", "empty file"),
    ],
    ids=["negative-count", "no-label-column", "empty"],
)
def test_bad_labelled_file_is_refused_with_file_and_line(
    tmp_path: Path, content: str, message: str
) -> None:
    data = tmp_path / "bad.csv"
    data.write_text(content)
    with pytest.raises(DataError, match=message) as caught:
        read_labelled(data)
    assert str(data) in str(caught.value)


def test_missing_holdout_is_named(demo_settings: Settings, store: Store) -> None:
    settings = dataclasses.replace(demo_settings, test_data_path=demo_settings.workspace / "nope")
    with pytest.raises(DataError, match="nope: no such file or folder"):
        train_version(settings, store)
