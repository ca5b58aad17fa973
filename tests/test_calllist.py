"""The call list: latest records, bands, changes, reasons in words, and calllist.csv."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from riskwatch.calllist import (
    build_call_list,
    compare,
    latest_records,
    neutralise,
    pushes,
    reasons,
    risk_band,
)
from riskwatch.config import Settings
from riskwatch.demo import release_month
from riskwatch.errors import RiskwatchError
from riskwatch.ingestion import ingest
from riskwatch.masterdata import read_master
from riskwatch.models import ModelParams
from riskwatch.registry import RegistryError
from riskwatch.schema import FEATURES
from riskwatch.training import reference_profile, train_model

from .conftest import Workspace, copy_workspace, csv_rows, deployed_demo

MakeSettings = Callable[..., Settings]
COLUMNS = ["rank", "corporation", "probability", "risk_band", "reasons", "change", "previous_rank"]
FORMULA_ID = "=cmd|' /C calc'!A0"


# Small hand-made frames


def test_latest_records_keeps_each_clients_last_row() -> None:
    master = pd.DataFrame(
        {
            "corporation": ["a", "b", "a", "c", "b"],
            "lastmonth_activity": [1, 2, 3, 4, 5],
            "lastyear_activity": [12, 24, 36, 48, 60],
        }
    )
    latest = latest_records(master)
    assert latest["corporation"].tolist() == ["a", "c", "b"]
    assert latest["lastmonth_activity"].tolist() == [3, 4, 5]
    assert latest.index.tolist() == [0, 1, 2]


def test_risk_band_bands_at_the_settings_thresholds_edges_inclusive(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings(risk_band_high=0.7, risk_band_medium=0.3)
    risk = np.array([0.0, 0.2999, 0.3, 0.6999, 0.7, 1.0])
    bands = risk_band(risk, high=settings.risk_band_high, medium=settings.risk_band_medium)
    assert bands.tolist() == ["low", "low", "medium", "medium", "high", "high"]


def listed(ids: list[str], probabilities: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rank": range(1, len(ids) + 1),
            "corporation": ids,
            "probability": probabilities,
        }
    )


def test_compare_names_new_clients_and_moves_of_half_a_point_or_more() -> None:
    previous = listed(["up", "down", "same", "small", "edge"], [0.4, 0.6, 0.1, 0.3, 0.3])
    current = listed(
        ["new", "up", "down", "same", "small", "edge"],
        [0.9, 0.5234, 0.4, 0.1, 0.3049, 0.305],
    )
    changes = compare(current, previous)
    assert changes["change"].tolist() == [
        "new",
        "risk up 12.3 pts",
        "risk down 20.0 pts",
        "unchanged",
        "unchanged",
        "risk up 0.5 pts",
    ]
    assert changes["previous_rank"].tolist() == [pd.NA, 1, 2, 3, 4, 5]
    assert changes["probability"].tolist() == current["probability"].tolist()


def test_compare_without_a_previous_list_marks_everyone_new() -> None:
    current = listed(["a", "b"], [0.9, 0.1])
    for previous in (None, current.iloc[0:0]):
        changes = compare(current, previous)
        assert changes["change"].tolist() == ["new", "new"]
        assert changes["previous_rank"].isna().all()


def test_compare_names_every_move_of_exactly_half_a_point() -> None:
    previous = listed(["a", "b", "c"], [0.2, 0.1284, 0.0005])
    current = listed(["a", "b", "c"], [0.205, 0.1234, 0.0055])
    assert compare(current, previous)["change"].tolist() == [
        "risk up 0.5 pts",
        "risk down 0.5 pts",
        "risk up 0.5 pts",
    ]


def test_neutralise_prefixes_cells_a_spreadsheet_would_run_as_formulas() -> None:
    values = pd.Series(["=1+2", "+44 20", "-3", "@SUM(A1)", "acme", "a=b", "", "3-2", "'x"])
    assert neutralise(values).tolist() == [
        "'=1+2",
        "'+44 20",
        "'-3",
        "'@SUM(A1)",
        "acme",
        "a=b",
        "",
        "3-2",
        "'x",
    ]


# Reasons from a trained model


@dataclass(frozen=True)
class Trained:
    """A fitted model, the reference profile of its training data, and that data."""

    model: Any
    reference: dict[str, Any]
    frame: pd.DataFrame


@pytest.fixture(scope="module")
def trained() -> Trained:
    """A logistic model of 500 clients whose exit risk rises as last month falls below pace."""
    rng = np.random.default_rng(0)
    n = 500
    year = rng.integers(600, 6000, n)
    ratio = rng.uniform(0, 2, n)  # last month against the client's monthly average
    risk = 1 / (1 + np.exp(-6 * (0.8 - ratio)))
    frame = pd.DataFrame(
        {
            "corporation": [f"c{i}" for i in range(n)],
            "lastmonth_activity": np.round(year / 12 * ratio).astype("int64"),
            "lastyear_activity": year,
            "number_of_employees": rng.integers(5, 500, n),
            "exited": (rng.uniform(size=n) < risk).astype("int64"),
        }
    )
    return Trained(train_model(frame, ModelParams()), reference_profile(frame), frame)


def clients(reference: dict[str, Any], *rows: tuple[str, int, int]) -> pd.DataFrame:
    """Clients (id, last month, last year) of the median company size."""
    employees = round(reference["medians"]["number_of_employees"])
    return pd.DataFrame(
        [(name, month, year, employees) for name, month, year in rows],
        columns=["corporation", *FEATURES],
    )


def test_a_sharp_drop_in_last_month_is_the_first_reason(trained: Trained) -> None:
    model, reference = trained.model, trained.reference
    frame = clients(reference, ("drop", 20, 2400))  # monthly average 200: 90 % below
    [text] = reasons(model, frame, reference)
    assert text.split("; ")[0] == "last month's activity is 90% below its monthly average"
    push = pushes(model, frame, reference["medians"]).iloc[0]
    assert push.idxmax() == "lastmonth_activity"
    assert push["lastmonth_activity"] > 0.1


def test_no_activity_last_month_is_named(trained: Trained) -> None:
    model, reference = trained.model, trained.reference
    [text] = reasons(model, clients(reference, ("zero", 0, 2400)), reference)
    assert text.split("; ")[0] == "no activity last month (its monthly average is 200)"


def test_a_typical_client_has_no_strong_reason(trained: Trained) -> None:
    model, reference = trained.model, trained.reference
    year = round(reference["medians"]["lastyear_activity"])
    frame = clients(reference, ("typical", round(year / 12), year))
    assert reasons(model, frame, reference) == ["no single feature stands out"]
    assert pushes(model, frame, reference["medians"]).abs().max().max() < 0.01


def test_no_client_gets_more_than_three_reasons(trained: Trained) -> None:
    model, reference = trained.model, trained.reference
    texts = reasons(model, trained.frame, reference)
    counts = [len(text.split("; ")) for text in texts]
    assert len(texts) == 500
    assert max(counts) == 3
    assert all(text for text in texts)


# The call list of a workspace


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: a demo workspace with month 1 ingested and a model deployed."""
    return deployed_demo(tmp_path_factory.mktemp("template") / "ws", months=2, seed=1)


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    return copy_workspace(template, tmp_path)


def read_call_list(settings: Settings) -> pd.DataFrame:
    return pd.read_csv(settings.reports_path / "calllist.csv", dtype={"corporation": str})


def test_call_list_ranks_the_top_clients_by_risk(ws: Workspace) -> None:
    result = build_call_list(ws.settings)

    path = ws.path / "reports" / "calllist.csv"
    assert result.path == str(path)
    written = read_call_list(ws.settings)
    assert list(written.columns) == COLUMNS
    assert len(written) == ws.settings.call_list_capacity == 100
    assert written["rank"].tolist() == list(range(1, 101))
    assert written["probability"].is_monotonic_decreasing
    assert written["corporation"].is_unique
    assert set(written["risk_band"]) <= {"high", "medium", "low"}
    assert (written["change"] == "new").all()
    assert written["previous_rank"].isna().all()
    assert written["reasons"].notna().all()
    master = read_master(ws.settings.output_folder_path)
    assert result.departed == int(master["exited"].sum()) > 0
    assert result.clients + result.departed == 2000
    assert result.frame["corporation"].tolist() == written["corporation"].tolist()
    assert result.summary().startswith(f"Call list: 100 of {result.clients:,} current clients")
    # Clients whose latest record says they left are gone: nobody to call.
    gone = set(master.loc[master["exited"] == 1, "corporation"])
    assert not gone & set(written["corporation"])

    assert len(build_call_list(ws.settings, top=7).frame) == 7
    assert len(read_call_list(ws.settings)) == 7


def test_call_list_has_one_row_per_client_of_their_latest_record(ws: Workspace) -> None:
    release_month(ws.path, 2)
    ingest(ws.settings)
    master = read_master(ws.settings.output_folder_path)
    assert master["corporation"].duplicated().any()  # clients seen in both months

    result = build_call_list(ws.settings, top=10_000)

    written = read_call_list(ws.settings)
    latest = master.drop_duplicates("corporation", keep="last")
    assert len(written) == (latest["exited"] == 0).sum() == result.clients
    assert written["corporation"].is_unique
    assert written["probability"].is_monotonic_decreasing


def test_a_second_call_list_reports_everyone_unchanged(ws: Workspace) -> None:
    build_call_list(ws.settings)
    first = read_call_list(ws.settings)

    build_call_list(ws.settings)

    second = read_call_list(ws.settings)
    assert (second["change"] == "unchanged").all()
    assert second["previous_rank"].tolist() == first["rank"].tolist()
    assert second["corporation"].tolist() == first["corporation"].tolist()


def test_a_formula_like_client_id_is_written_as_text(ws: Workspace) -> None:
    source = ws.path / "sourcedata" / "extra.csv"
    source.write_text(csv_rows(f"{FORMULA_ID},0,24000,5,0", "plain-extra,0,24000,5,0"))
    ingest(ws.settings)

    result = build_call_list(ws.settings, top=10_000)

    written = read_call_list(ws.settings)
    assert f"'{FORMULA_ID}" in written["corporation"].tolist()
    assert FORMULA_ID not in written["corporation"].tolist()
    assert not written["corporation"].str.startswith(("=", "+", "-", "@")).any()
    assert not written["reasons"].str.startswith(("=", "+", "-", "@")).any()
    assert FORMULA_ID in result.frame["corporation"].tolist()  # the returned frame is raw
    line = next(
        line
        for line in (ws.path / "reports" / "calllist.csv").read_text().splitlines()
        if "cmd|" in line
    )
    assert f",'{FORMULA_ID}," in line

    build_call_list(ws.settings, top=10_000)  # the neutralised id is matched on the next run
    again = read_call_list(ws.settings).set_index("corporation")
    assert again.loc[f"'{FORMULA_ID}", "change"] == "unchanged"


def test_a_client_named_like_a_missing_value_keeps_its_history(ws: Workspace) -> None:
    source = ws.path / "sourcedata" / "extra.csv"
    source.write_text(csv_rows("NA,0,24000,5,0", "null,0,24000,5,0"))
    ingest(ws.settings)
    build_call_list(ws.settings, top=10_000)

    build_call_list(ws.settings, top=10_000)

    listed = pd.read_csv(ws.path / "reports" / "calllist.csv", keep_default_na=False)
    named = listed[listed["corporation"].isin(["NA", "null"])]
    assert len(named) == 2
    assert named["change"].tolist() == ["unchanged", "unchanged"]


def test_a_client_id_starting_with_a_quote_keeps_its_history(ws: Workspace) -> None:
    source = ws.path / "sourcedata" / "extra.csv"
    source.write_text(csv_rows("'quoted,0,24000,5,0"))
    ingest(ws.settings)
    build_call_list(ws.settings, top=10_000)

    build_call_list(ws.settings, top=10_000)

    again = read_call_list(ws.settings).set_index("corporation")
    assert again.loc["'quoted", "change"] == "unchanged"


def test_call_list_with_nothing_deployed_says_to_train(ws: Workspace) -> None:
    ws.settings.prod_deployment_path.unlink()
    with pytest.raises(RegistryError, match="run `riskwatch train` then `riskwatch deploy`"):
        build_call_list(ws.settings)
    assert not (ws.path / "reports" / "calllist.csv").exists()


def test_call_list_with_an_empty_master_says_to_ingest(ws: Workspace) -> None:
    for name in ("finaldata.csv", "finaldata.parquet"):
        (ws.settings.output_folder_path / name).unlink()
    with pytest.raises(RiskwatchError, match="run `riskwatch ingest` first"):
        build_call_list(ws.settings)
    assert not (ws.path / "reports" / "calllist.csv").exists()
