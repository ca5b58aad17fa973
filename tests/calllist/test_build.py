"""The call list: latest records, bands, changes, reasons in words, and calllist.csv."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from riskwatch.calllist.build import (
    CallList,
    build_call_list,
    compare,
    latest_records,
    publish_call_list,
    risk_band,
)
from riskwatch.config import Settings
from riskwatch.demo.workspace import release_month
from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.ingest import ingest
from riskwatch.ingestion.master import read_master
from riskwatch.ingestion.quarantine import neutralise
from riskwatch.model.pipeline import ModelParams
from riskwatch.model.reasons import describe, pushes, reasons, shares
from riskwatch.model.registry import RegistryError
from riskwatch.scheduler import run_lock
from riskwatch.schema import FEATURES
from riskwatch.storage.store import Store, call_list_items, call_lists
from riskwatch.training import reference_profile, train_model

from ..conftest import Workspace, csv_rows, run

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
    values = pd.Series(
        ["=1+2", "+44 20", "-3+cmd|'/C calc'!A0", "@SUM(A1)", "acme", "a=b", "", "3-2", "'x"]
    )
    assert neutralise(values).tolist() == [
        "'=1+2",
        "'+44 20",
        "'-3+cmd|'/C calc'!A0",
        "'@SUM(A1)",
        "acme",
        "a=b",
        "",
        "3-2",
        "'x",
    ]
    # A plain number runs nothing, so it is left as written (a quarantined -3 stays -3).
    numbers = pd.Series(["-3", "+1e30", "-0.5", "-3\n", "-3 "])
    assert neutralise(numbers).tolist() == ["-3", "+1e30", "-0.5", "'-3\n", "'-3 "]


# Reasons in words, from hand-made percentiles

GRID = [float(v) for v in range(101)]  # clients 0 to 100: value v is the v-th percentile


def words(feature: str, value: int, points: list[float], *, year: int = 1200) -> str:
    """The reason describe() gives for one client's feature, against the given percentiles."""
    row = SimpleNamespace(lastmonth_activity=100, lastyear_activity=year, number_of_employees=value)
    if feature == "lastyear_activity":
        row.lastyear_activity = value
    return describe(feature, row, {feature: points})


def test_shares_are_true_at_the_extremes_and_ties() -> None:
    assert shares(GRID, -5) == (0, 99)  # below every client: never "lower than 100%"
    assert shares(GRID, 0) == (0, 98)  # the lowest client, tied with it
    assert shares(GRID, 50) == (48, 48)
    assert shares(GRID, 100) == (98, 0)
    assert shares(GRID, 250) == (99, 0)
    tied = [5.0] * 60 + [10.0] * 41  # 60 % of clients at 5, the rest at 10
    assert shares(tied, 5) == (0, 39)
    assert shares(tied, 10) == (58, 0)


@pytest.mark.parametrize(
    ("feature", "value", "points", "expected"),
    [
        (
            "lastyear_activity",
            6,
            [10.0 + v for v in GRID],
            "low activity over the last year (6, lower than 99% of clients)",
        ),
        (
            "lastyear_activity",
            60,
            [10.0 + v for v in GRID],
            "moderate activity over the last year (60, about the median of clients)",
        ),
        (
            "lastyear_activity",
            2000,
            GRID,
            "high activity over the last year (2,000, higher than 99% of clients)",
        ),
        ("lastyear_activity", 0, GRID, "no activity over the last year"),
        (
            "number_of_employees",
            45,
            GRID,
            "a mid-sized company (45 employees, smaller than 53% of clients)",
        ),
        (
            "number_of_employees",
            70,
            GRID,
            "a mid-sized company (70 employees, larger than 68% of clients)",
        ),
        (
            "number_of_employees",
            80,
            GRID,
            "a large company (80 employees, larger than 78% of clients)",
        ),
        (
            "number_of_employees",
            1,
            [1.0] * 101,
            "a mid-sized company (1 employee, about the median of clients)",
        ),
        (
            "number_of_employees",
            20,
            [float(v // 10) * 10 for v in range(101)],
            "a mid-sized company (20 employees, smaller than 69% of clients)",
        ),
    ],
)
def test_the_word_agrees_with_the_share_printed(
    feature: str, value: int, points: list[float], expected: str
) -> None:
    assert words(feature, value, points) == expected


@pytest.mark.parametrize("feature", ["lastyear_activity", "number_of_employees"])
def test_every_share_printed_is_true_of_the_clients(feature: str) -> None:
    # Integer values with many ties, as counts are: the printed share is checked against them.
    rng = np.random.default_rng(7)
    values = np.rint(rng.lognormal(3, 1.3, 2000)).astype("int64")
    points = np.percentile(values.astype(float), np.arange(101)).tolist()
    for value in range(0, int(values.max()) + 3):
        text = words(feature, value, points)
        found = re.search(r"(lower|smaller|higher|larger) than (\d+)% of clients", text)
        if text == "no activity over the last year":
            assert value == 0
            continue
        if found is None:
            assert "about the median" in text, text
            assert (values < value).mean() <= 0.51 and (values > value).mean() <= 0.51, text
            continue
        side, share = found[1], int(found[2]) / 100
        beyond = values > value if side in ("lower", "smaller") else values < value
        assert beyond.mean() >= share, text
        extreme = text.startswith(("low ", "a small", "high ", "a large"))
        assert extreme == (share >= 0.75), text
        assert " %" not in text and "100%" not in text


@pytest.mark.parametrize(
    ("month", "year", "expected"),
    [
        (1, 3600, "last month's activity is 99% below its monthly average"),  # never "100%"
        (0, 5, "no activity last month (its monthly average is 0.4)"),  # never "is 0"
        (301, 3600, "last month's activity is within 1% of its monthly average"),
        (29, 100, "last month's activity is 248% above its monthly average"),
        (0, 0, "no activity over the last year"),
    ],
)
def test_last_months_activity_in_words(month: int, year: int, expected: str) -> None:
    row = SimpleNamespace(lastmonth_activity=month, lastyear_activity=year)
    assert describe("lastmonth_activity", row, {}) == expected


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
    [words] = reasons(model, frame, reference)
    assert words[0] == "last month's activity is 90% below its monthly average"
    push = pushes(model, frame, reference["medians"]).iloc[0]
    assert push.idxmax() == "lastmonth_activity"
    assert push["lastmonth_activity"] > 0.1


def test_no_activity_last_month_is_named(trained: Trained) -> None:
    model, reference = trained.model, trained.reference
    [words] = reasons(model, clients(reference, ("zero", 0, 2400)), reference)
    assert words[0] == "no activity last month (its monthly average is 200)"


def test_a_typical_client_has_no_strong_reason(trained: Trained) -> None:
    model, reference = trained.model, trained.reference
    year = round(reference["medians"]["lastyear_activity"])
    frame = clients(reference, ("typical", round(year / 12), year))
    assert reasons(model, frame, reference) == [["no single feature stands out"]]
    assert pushes(model, frame, reference["medians"]).abs().max().max() < 0.01


def test_no_client_gets_more_than_three_reasons(trained: Trained) -> None:
    model, reference = trained.model, trained.reference
    texts = reasons(model, trained.frame, reference)
    counts = [len(words) for words in texts]
    assert len(texts) == 500
    assert max(counts) == 3
    assert all(all(words) for words in texts)


# The call list of a workspace (fixtures template and ws: conftest.py)


def look(settings: Settings, top: int | None = None) -> CallList:
    """The call list now, as `riskwatch calllist` shows it (published nowhere)."""
    with Store(settings.database_url) as store:
        return build_call_list(settings, store, top)


def publish(settings: Settings, top: int | None = None, cycle_id: int | None = None) -> CallList:
    """The call list now, published to the managers."""
    with Store(settings.database_url) as store:
        found = build_call_list(settings, store, top)
        return publish_call_list(settings, store, found, cycle_id=cycle_id)


def read_call_list(settings: Settings) -> pd.DataFrame:
    return pd.read_csv(settings.reports_path / "calllist.csv", dtype={"corporation": str})


def test_call_list_ranks_the_top_clients_by_risk(ws: Workspace) -> None:
    result = publish(ws.settings)

    path = ws.path / "reports" / "calllist.csv"
    assert result.path == str(path)
    written = read_call_list(ws.settings)
    assert list(written.columns) == [*COLUMNS, "last_contacted_at", "last_outcome", "holdout"]
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

    assert len(publish(ws.settings, top=7).frame) == 7
    assert len(read_call_list(ws.settings)) == 7


def test_call_list_has_one_row_per_client_of_their_latest_record(ws: Workspace) -> None:
    release_month(ws.path, 2)
    ingest(ws.settings)
    master = read_master(ws.settings.output_folder_path)
    assert master["corporation"].duplicated().any()  # clients seen in both months

    result = publish(ws.settings, top=10_000)

    written = read_call_list(ws.settings)
    latest = master.drop_duplicates("corporation", keep="last")
    assert len(written) == (latest["exited"] == 0).sum() == result.clients
    assert written["corporation"].is_unique
    assert written["probability"].is_monotonic_decreasing


def test_a_second_call_list_reports_everyone_unchanged(ws: Workspace) -> None:
    publish(ws.settings)
    first = read_call_list(ws.settings)

    publish(ws.settings)

    second = read_call_list(ws.settings)
    assert (second["change"] == "unchanged").all()
    assert second["previous_rank"].tolist() == first["rank"].tolist()
    assert second["corporation"].tolist() == first["corporation"].tolist()


def test_a_formula_like_client_id_is_written_as_text(ws: Workspace) -> None:
    source = ws.path / "sourcedata" / "extra.csv"
    source.write_text(csv_rows(f"{FORMULA_ID},0,24000,5,0", "plain-extra,0,24000,5,0"))
    ingest(ws.settings)

    result = publish(ws.settings, top=10_000)

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

    publish(ws.settings, top=10_000)  # the neutralised id is matched on the next run
    again = read_call_list(ws.settings).set_index("corporation")
    assert again.loc[f"'{FORMULA_ID}", "change"] == "unchanged"


def test_a_client_named_like_a_missing_value_keeps_its_history(ws: Workspace) -> None:
    source = ws.path / "sourcedata" / "extra.csv"
    source.write_text(csv_rows("NA,0,24000,5,0", "null,0,24000,5,0"))
    ingest(ws.settings)
    publish(ws.settings, top=10_000)

    publish(ws.settings, top=10_000)

    listed = pd.read_csv(ws.path / "reports" / "calllist.csv", keep_default_na=False)
    named = listed[listed["corporation"].isin(["NA", "null"])]
    assert len(named) == 2
    assert named["change"].tolist() == ["unchanged", "unchanged"]


def test_a_client_id_starting_with_a_quote_keeps_its_history(ws: Workspace) -> None:
    source = ws.path / "sourcedata" / "extra.csv"
    source.write_text(csv_rows("'quoted,0,24000,5,0"))
    ingest(ws.settings)
    publish(ws.settings, top=10_000)

    publish(ws.settings, top=10_000)

    again = read_call_list(ws.settings).set_index("corporation")
    assert again.loc["'quoted", "change"] == "unchanged"


def test_call_list_with_nothing_deployed_says_to_train(ws: Workspace) -> None:
    ws.settings.prod_deployment_path.unlink()
    with pytest.raises(RegistryError, match="run `riskwatch train` then `riskwatch deploy`"):
        look(ws.settings)
    assert not (ws.path / "reports" / "calllist.csv").exists()


def test_call_list_with_an_empty_master_says_to_ingest(ws: Workspace) -> None:
    for name in ("finaldata.csv", "finaldata.parquet"):
        (ws.settings.output_folder_path / name).unlink()
    with pytest.raises(RiskwatchError, match="run `riskwatch ingest` first"):
        look(ws.settings)
    assert not (ws.path / "reports" / "calllist.csv").exists()


def stored_lists(settings: Settings) -> list[dict[str, Any]]:
    with Store(settings.database_url) as store:
        return store.rows(call_lists)


def test_a_look_writes_nothing_and_compares_with_the_published_list(ws: Workspace) -> None:
    first = publish(ws.settings)
    path = ws.path / "reports" / "calllist.csv"
    written = path.read_bytes()

    seen = look(ws.settings, top=5)

    assert path.read_bytes() == written
    assert len(stored_lists(ws.settings)) == 1
    assert seen.published is None
    assert seen.compared_with == first.published
    assert seen.frame["change"].tolist() == ["unchanged"] * 5
    assert seen.frame["previous_rank"].tolist() == [1, 2, 3, 4, 5]
    assert "Not published (a look only)" in seen.summary()
    again = publish(ws.settings)  # the next list still compares with all 100 of the first
    assert (again.frame["change"] == "unchanged").all()


def test_each_published_list_is_kept_with_its_time_and_compared_with_the_one_before(
    ws: Workspace,
) -> None:
    first = publish(ws.settings, cycle_id=7)
    release_month(ws.path, 2)
    ingest(ws.settings)

    second = publish(ws.settings)

    assert first.published is not None and second.published is not None
    assert second.compared_with == first.published
    lists = stored_lists(ws.settings)
    assert [row["id"] for row in lists] == [first.published.id, second.published.id]
    assert [row["published_at"] for row in lists] == [
        first.published.published_at,
        second.published.published_at,
    ]
    assert lists[0]["published_at"] < lists[1]["published_at"]
    assert [row["cycle_id"] for row in lists] == [7, None]
    assert {row["size"] for row in lists} == {100}
    with Store(ws.settings.database_url) as store:
        kept = store.rows(call_list_items, list_id=first.published.id)
    assert sorted(row["rank"] for row in kept) == list(range(1, 101))
    assert all(isinstance(row["reasons"], list) for row in kept)
    # The second list's changes are against the first: ranks moved as the risks did.
    before = first.frame.set_index("corporation")
    both = second.frame[second.frame["corporation"].isin(before.index)]
    assert both["previous_rank"].tolist() == before.loc[both["corporation"], "rank"].tolist()
    assert (both["previous_rank"] != both["rank"]).any()
    assert set(second.frame["change"]) - {"unchanged"}
    written = read_call_list(ws.settings)
    assert written["corporation"].tolist() == second.frame["corporation"].tolist()
    assert written["change"].tolist() == second.frame["change"].tolist()


def test_a_workspace_with_no_list_on_record_compares_with_its_file(ws: Workspace) -> None:
    publish(ws.settings)
    with Store(ws.settings.database_url) as store, store.begin() as conn:
        conn.execute(call_list_items.delete())  # as a workspace from before lists were kept
        conn.execute(call_lists.delete())

    seen = look(ws.settings)

    assert seen.compared_with is not None and seen.compared_with.id is None
    assert (seen.frame["change"] == "unchanged").all()


def test_a_list_that_cannot_be_written_is_not_kept(ws: Workspace) -> None:
    (ws.path / "reports").mkdir(exist_ok=True)
    (ws.path / "reports" / "calllist.csv").mkdir()  # a folder where the file should go
    with pytest.raises(OSError):
        publish(ws.settings)
    assert stored_lists(ws.settings) == []


@pytest.mark.postgres
def test_published_lists_are_kept_in_postgresql_too(ws: Workspace, postgres_url: str) -> None:
    with Store(postgres_url) as store:
        first = publish_call_list(ws.settings, store, build_call_list(ws.settings, store, 20))
        second = publish_call_list(ws.settings, store, build_call_list(ws.settings, store, 20))
        kept = store.rows(call_list_items, list_id=second.published.id if second.published else 0)
    assert second.compared_with == first.published
    assert (second.frame["change"] == "unchanged").all()
    assert sorted(row["previous_rank"] for row in kept) == list(range(1, 21))


def test_publishing_by_hand_while_a_cycle_runs_exits_3_and_publishes_nothing(
    ws: Workspace,
) -> None:
    with run_lock(ws.settings):  # as a running cycle holds it
        result = run("calllist", "--publish", cwd=ws.path)
    assert result.returncode == 3
    assert "a cycle is running" in result.stderr and "publishes its own list" in result.stderr
    assert not (ws.path / "reports" / "calllist.csv").exists()
    assert stored_lists(ws.settings) == []
