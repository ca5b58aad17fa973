"""Duplicate rows of Arrow tables: exactly what pandas' duplicated() finds, within and across."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from riskwatch.ingestion.dedup import duplicates


def _table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def test_duplicates_match_pandas_on_many_repeats_and_near_misses() -> None:
    rng = np.random.default_rng(3)
    rows = 20_000
    frame = pd.DataFrame(
        {
            "corporation": [f"c{i}" for i in rng.integers(0, 500, rows)],
            "lastmonth_activity": rng.integers(0, 3, rows),
            "number_of_employees": rng.integers(0, 2, rows),
        }
    )
    frame.loc[::97, "corporation"] = ""  # empty ids are values too
    frame.loc[::89, "corporation"] = "c1 "  # one trailing space: not the same id
    earlier, later = frame.iloc[:12_000], frame.iloc[12_000:].reset_index(drop=True)

    found = duplicates([_table(earlier)], _table(later))

    expected = frame.duplicated().to_numpy()[12_000:]
    assert found.sum() > 0
    assert (found == expected).all()


def test_a_column_an_earlier_table_lacks_counts_as_missing() -> None:
    earlier = _table(pd.DataFrame({"corporation": ["a", "b"]}))
    later = _table(pd.DataFrame({"corporation": ["a", "b", "b"], "extra": ["x", None, None]}))

    assert duplicates([earlier], later).tolist() == [False, True, True]


def test_no_rows_have_no_duplicates() -> None:
    empty = _table(pd.DataFrame({"corporation": pd.Series([], dtype=str)}))

    assert duplicates([], empty).tolist() == []
