"""Training: the classic result reproduced, training windows, versions saved, bad data refused."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from riskwatch.config import Settings, load_settings
from riskwatch.demo.workspace import release_month
from riskwatch.ingestion.datasets import read_labelled
from riskwatch.ingestion.ingest import ingest
from riskwatch.ingestion.master import read_master
from riskwatch.model.choice import Choice
from riskwatch.model.pipeline import ModelParams, predict_risk
from riskwatch.model.registry import load_model, versions
from riskwatch.monitoring.evidence import score_holdout
from riskwatch.schema import FEATURES, TARGET
from riskwatch.storage.store import Store, models
from riskwatch.training import (
    TrainingError,
    choice_key,
    fit_chosen,
    fit_threads,
    select_training_rows,
    train_model,
    train_version,
)

from .conftest import CLASSIC, run


def test_classic_model_reproduces_the_classic_f1(practice: pd.DataFrame) -> None:
    model = train_model(practice, ModelParams(kind="classic"))
    test = pd.read_csv(CLASSIC / "testdata" / "testdata.csv")
    predicted = model.predict(test[list(FEATURES)].to_numpy())
    precision = precision_score(test[TARGET], predicted)
    recall = recall_score(test[TARGET], predicted)
    assert (precision, recall) == (0.5, 2 / 3)
    # The classic figure is the harmonic mean 2PR/(P+R); scikit-learn 1.9's f1_score computes
    # 2TP/(2TP+FP+FN), the same 4/7 one ulp lower (0.5714285714285714).
    assert 2 * precision * recall / (precision + recall) == 0.5714285714285715
    assert f1_score(test[TARGET], predicted) == pytest.approx(4 / 7, abs=1e-15)


def test_default_model_gives_probabilities_for_each_client(practice: pd.DataFrame) -> None:
    model = train_model(practice, ModelParams())
    risk = model.predict_proba(practice[list(FEATURES)])[:, 1]
    assert risk.shape == (26,)
    assert ((risk > 0) & (risk < 1)).all()


def test_training_is_deterministic_for_a_seed(practice: pd.DataFrame) -> None:
    first = train_model(practice, ModelParams(seed=3)).predict_proba(practice[list(FEATURES)])
    second = train_model(practice, ModelParams(seed=3)).predict_proba(practice[list(FEATURES)])
    assert (first == second).all()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.assign(exited=0), "only exited = 0: both classes are needed"),
        (lambda f: f.head(5), "has 5 rows; at least 10 are needed"),
        (lambda f: f.drop(columns=["number_of_employees"]), "lacks the column"),
    ],
    ids=["one-class", "too-few-rows", "missing-column"],
)
def test_training_refuses_unusable_data(
    practice: pd.DataFrame, change: object, message: str
) -> None:
    with pytest.raises(TrainingError, match=message):
        train_model(change(practice), ModelParams())  # type: ignore[operator]


def _batches(*sizes: int) -> pd.DataFrame:
    rows = []
    for batch, size in enumerate(sizes, start=1):
        rows += [{"batch_id": batch, "exited": i % 2} for i in range(size)]
    return pd.DataFrame(rows)


def test_recent_window_keeps_only_the_last_batches() -> None:
    frame = _batches(4, 3, 2)
    rows, weights = select_training_rows(frame, window="recent", recent_batches=2, half_life=1)
    assert sorted(rows["batch_id"].unique()) == [2, 3]
    assert weights is None


def test_decay_window_halves_weight_every_half_life() -> None:
    frame = _batches(1, 1, 1)
    rows, weights = select_training_rows(frame, window="decay", recent_batches=1, half_life=1)
    assert len(rows) == 3
    assert weights is not None
    assert weights.tolist() == [0.25, 0.5, 1.0]


def test_window_needs_lineage_and_says_so() -> None:
    with pytest.raises(TrainingError, match="needs the master dataset's batch_id column"):
        select_training_rows(
            pd.DataFrame({"exited": [0, 1]}), window="recent", recent_batches=1, half_life=1
        )


@pytest.fixture
def classic_settings(tmp_path: Path) -> Settings:
    """The classic workspace, its practice data (26 rows) ingested, default settings."""
    shutil.copytree(CLASSIC, tmp_path / "classic")
    settings = load_settings(tmp_path / "classic" / "config.json", env={})
    ingest(settings)
    return dataclasses.replace(settings, bootstrap_resamples=200)


def test_auto_chooses_by_cross_validation_on_small_data_and_records_the_scores(
    classic_settings: Settings,
) -> None:
    with Store(classic_settings.database_url) as store:
        result = train_version(classic_settings, store)
    choice = result.metadata["choice"]
    assert (choice["setting"], choice["kind"], result.metadata["kind"]) == (
        "auto",
        "logistic",
        "logistic",
    )
    assert sorted(choice["cv"]) == ["classic", "hgb", "logistic"]
    auc = {kind: cv["roc_auc"]["value"] for kind, cv in choice["cv"].items()}
    assert auc["logistic"] == max(auc.values()) and auc["hgb"] < 0.5
    assert {cv["folds"] for cv in choice["cv"].values()} == {5}  # 11 stayers: capped at 5
    assert choice["reason"].startswith("auto: 26 rows, fewer than 2,000")
    assert result.metadata["ranking"]["better_than_chance"] is True
    assert "on 5-fold cross-validation (26 rows)" in result.metadata["ranking"]["reason"]


def test_a_model_that_gives_everyone_the_same_risk_is_flagged(classic_settings: Settings) -> None:
    settings = dataclasses.replace(classic_settings, model_kind="hgb")  # honoured as set
    with Store(settings.database_url) as store:
        result = train_version(settings, store)
    assert result.metadata["kind"] == "hgb"
    assert result.metadata["ranking"] == {
        "better_than_chance": False,
        "reason": "it gives every one of the 26 training clients the same risk, 57.7%: "
        "it cannot rank them",
    }


def test_train_prints_a_loud_warning_for_a_model_no_better_than_chance(
    classic_settings: Settings,
) -> None:
    workspace = classic_settings.workspace
    result = run("train", cwd=workspace, env={"RISKWATCH_MODEL_KIND": "hgb"})
    assert result.returncode == 0, result.stderr
    assert "WARNING: this model ranks no better than chance: it gives every one" in result.stdout
    assert "riskwatch deploy --force" in result.stdout
    fine = run("train", cwd=workspace)
    assert fine.returncode == 0, fine.stderr
    assert "WARNING" not in fine.stdout
    assert "Chosen: auto: 26 rows, fewer than 2,000; best cross-validated" in fine.stdout


def test_a_version_records_the_rows_and_seed_its_kind_was_chosen_on_unless_weighted(
    classic_settings: Settings,
) -> None:
    with Store(classic_settings.database_url) as store:
        plain = train_version(classic_settings, store).metadata
        weighted = train_version(classic_settings, store, window="decay").metadata
    printed = plain["training"]["fingerprint"]
    assert plain["choice"]["chosen_on"] == choice_key(printed, classic_settings.model_seed)
    assert weighted["choice"]["chosen_on"] == ""  # weights took part: not these rows alone


def test_auto_chooses_on_a_held_out_split_without_cross_validation_from_2000_rows(
    demo_settings: Settings,
) -> None:
    with Store(demo_settings.database_url) as store:
        result = train_version(demo_settings, store)
    choice = result.metadata["choice"]
    assert (choice["setting"], choice["cv"]) == ("auto", {})
    assert choice["reason"].startswith("auto: 2,000 rows, at least 2,000; best ROC AUC on a held")
    assert result.metadata["kind"] == choice["kind"]
    assert result.metadata["ranking"]["better_than_chance"] is True


def test_a_choice_given_is_fit_as_given_without_choosing_again(practice: pd.DataFrame) -> None:
    given = Choice("auto", "classic", "chosen elsewhere")
    model, choice = fit_chosen(Settings(), practice, None, given)
    assert choice is given
    assert list(model.named_steps) == ["model"]  # the classic pipeline: no feature step
    assert model.named_steps["model"].solver == "liblinear"


def test_a_small_holdout_alone_does_not_call_a_model_no_better_than_chance(
    demo_settings: Settings, tmp_path: Path
) -> None:
    tiny = tmp_path / "tiny.csv"  # the classic 5-row holdout: its interval can show nothing
    shutil.copyfile(CLASSIC / "testdata" / "testdata.csv", tiny)
    settings = dataclasses.replace(demo_settings, test_data_path=tiny)
    with Store(settings.database_url) as store:
        result = train_version(settings, store)
    ranking = result.metadata["ranking"]
    assert result.metadata["choice"]["cv"] == {}  # 2,000 rows: hgb without choosing by CV
    assert "on 5-fold cross-validation (2,000 rows)" in ranking["reason"], ranking
    assert ranking["better_than_chance"] is True


def test_train_version_saves_an_immutable_version_with_its_record(demo_settings: Settings) -> None:
    store = Store(demo_settings.database_url)
    result = train_version(demo_settings, store)
    folder = demo_settings.output_model_path / result.version
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["training"]["rows"] == 2000
    assert metadata["training"]["batches"] == ["month_01.csv"]
    assert len(metadata["training"]["fingerprint"]) == 64
    assert metadata["packages"]["scikit-learn"]
    # the kind `auto` chose on a held-out split (hgb outright before issue 16)
    assert metadata["params"] == {"kind": metadata["choice"]["kind"], "seed": 0}
    assert metadata["metrics"]["holdout"]["roc_auc"]["value"] > 0.6
    assert store.rows(models)[0]["sha256"] == metadata["sha256"]


def test_train_version_holds_the_holdout_scores_of_the_saved_model(
    demo_settings: Settings,
) -> None:
    # A cycle hands these to its report: they must be what scoring the saved file gives.
    store = Store(demo_settings.database_url)
    result = train_version(demo_settings, store)
    held = result.holdout
    assert held is not None
    saved = load_model(demo_settings.output_model_path, result.version)
    again = score_holdout(
        demo_settings, saved, read_labelled(demo_settings.test_data_path), result.metadata["sha256"]
    )
    assert held.sha256 == again.sha256 == result.metadata["sha256"]
    assert (held.path, held.resamples) == (again.path, again.resamples)
    assert np.array_equal(held.labels, again.labels)
    assert np.array_equal(held.risks, again.risks)
    assert held.metrics == again.metrics
    recorded = result.metadata["metrics"]["holdout"]
    assert {name: m.to_dict() for name, m in held.metrics.items()} == recorded


def test_one_fitting_thread_fits_the_same_model_as_a_thread_per_core(
    demo_settings: Settings,
) -> None:
    # fit_threads() asks for one OpenMP thread on a busy machine: the risks must not change.
    rows = read_master(demo_settings.output_folder_path)
    settings = dataclasses.replace(demo_settings, model_kind="hgb")
    risks = []
    for threads in (1, None):
        with threadpool_limits(limits=threads, user_api="openmp"):
            model = train_model(rows, ModelParams(kind="hgb", seed=settings.model_seed))
        risks.append(predict_risk(model, rows))
    assert np.array_equal(risks[0], risks[1])
    assert fit_threads() in (1, None)


def test_one_blas_thread_fits_the_same_linear_models_as_a_thread_per_core(
    demo_settings: Settings,
) -> None:
    # fit_threads() limits BLAS too on a busy machine: logistic's risks must not change either.
    rows = read_master(demo_settings.output_folder_path)
    for kind in ("logistic", "classic"):
        risks = []
        for threads in (1, None):
            with threadpool_limits(limits=threads):
                model = train_model(rows, ModelParams(kind=kind, seed=0))
            risks.append(predict_risk(model, rows))
        assert np.array_equal(risks[0], risks[1]), kind


def test_same_data_gives_the_same_fingerprint_and_predictions(demo_settings: Settings) -> None:
    store = Store(demo_settings.database_url)
    first, second = train_version(demo_settings, store), train_version(demo_settings, store)
    assert first.version != second.version
    assert first.metadata["training"]["fingerprint"] == second.metadata["training"]["fingerprint"]
    assert first.metadata["metrics"] == second.metadata["metrics"]


def test_recent_window_trains_on_the_newest_batch_only(demo_settings: Settings) -> None:
    release_month(demo_settings.workspace, 2)
    # A client whose record did not change since month 1 is an exact duplicate: not added.
    added = ingest(demo_settings).batches[0].rows_added
    settings = dataclasses.replace(
        demo_settings, training_window="recent", training_recent_batches=1
    )
    result = train_version(settings, Store(settings.database_url))
    assert result.metadata["training"]["batches"] == ["month_02.csv"]
    assert result.metadata["training"]["rows"] == added > 1990


def test_training_on_nothing_ingested_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "riskwatch.toml").write_text("")
    settings = load_settings(tmp_path / "riskwatch.toml", env={})
    with pytest.raises(TrainingError, match=r"no data in .*ingesteddata: run `riskwatch ingest`"):
        train_version(settings, Store(settings.database_url))
    assert not settings.output_model_path.exists()


def test_training_on_one_class_changes_nothing(demo_settings: Settings) -> None:
    master = demo_settings.output_folder_path / "finaldata.parquet"
    pd.read_parquet(master).assign(exited=0).to_parquet(master)
    store = Store(demo_settings.database_url)
    with pytest.raises(TrainingError, match="only exited = 0"):
        train_version(demo_settings, store)
    assert versions(demo_settings.output_model_path) == []
    assert store.rows(models) == []
