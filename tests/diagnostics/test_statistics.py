"""The master dataset's statistics and missing values, checked by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskwatch.config import Settings
from riskwatch.diagnostics.statistics import (
    batch_missing_shares,
    missing_shares,
    summary_statistics,
)
from riskwatch.ingestion.ingest import ingest
from riskwatch.storage.store import Store

from ..conftest import csv_rows

AddFile = Callable[[str, str | bytes], Path]
MakeSettings = Callable[..., Settings]


def test_summary_statistics_match_hand_computed_values() -> None:
    frame = pd.DataFrame(
        {
            "corporation": ["a", "b", "c", "d", "e"],
            "lastmonth_activity": [1, 2, 3, 4, 10],
            "exited": [0, 1, 0, 1, 1],
            "batch_id": [7, 7, 7, 8, 8],
        }
    )
    stats = summary_statistics(frame)
    assert list(stats) == ["lastmonth_activity", "exited"]  # text and lineage left out
    # mean 4; squared deviations 9+4+1+0+36 = 50 over n-1 = 4; quartiles interpolated.
    assert stats["lastmonth_activity"] == {
        "count": 5.0,
        "mean": 4.0,
        "median": 3.0,
        "std": pytest.approx(math.sqrt(12.5)),
        "min": 1.0,
        "q25": 2.0,
        "q75": 4.0,
        "max": 10.0,
    }
    assert stats["exited"]["mean"] == 0.6


def test_summary_statistics_of_one_row_have_no_deviation() -> None:
    stats = summary_statistics(pd.DataFrame({"lastyear_activity": [12]}))
    assert stats["lastyear_activity"]["std"] is None
    assert stats["lastyear_activity"]["median"] == 12.0


def test_summary_statistics_reproduce_the_classic_figures(practice: pd.DataFrame) -> None:
    stats = summary_statistics(practice)
    shown = {c: [round(stats[c][s] or 0, 3) for s in ("mean", "median", "std")] for c in stats}
    assert shown["lastmonth_activity"] == [165.654, 73.0, 284.033]
    assert shown["lastyear_activity"] == [1502.923, 955.0, 2192.645]
    assert shown["number_of_employees"] == [26.885, 14.0, 31.354]


def test_missing_shares_count_missing_values_per_column() -> None:
    frame = pd.DataFrame(
        {
            "corporation": ["a", None, "c", "d"],
            "lastmonth_activity": [1.0, np.nan, np.nan, 4.0],
            "exited": [0, 1, 0, 1],
            "batch_id": [1, 1, 1, 1],
        }
    )
    assert missing_shares(frame) == {
        "corporation": 0.25,
        "lastmonth_activity": 0.5,
        "exited": 0.0,
    }
    assert missing_shares(frame.iloc[:0]) == dict.fromkeys(
        ["corporation", "lastmonth_activity", "exited"], 0.0
    )


def test_batch_missing_shares_come_from_the_ingested_batch(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file(
        "gaps.csv",
        csv_rows("x,1,12,3,0", "y,,24,4,1", "z,,,5,0", ",5,60,6,1", "v,2,30,,0"),
    )
    settings = make_settings()
    ingest(settings)
    with Store(settings.database_url) as store:
        record = store.batches(status="ingested")[-1]
    found = batch_missing_shares(record)
    assert (found["batch"], found["rows_read"]) == ("gaps.csv", 5)
    assert found["shares"] == {
        "corporation": 0.2,
        "lastmonth_activity": 0.4,
        "lastyear_activity": 0.2,
        "number_of_employees": 0.2,
        "exited": 0.0,
    }
    assert record.rows_quarantined == 4  # each row with a gap was quarantined
