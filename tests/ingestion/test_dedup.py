"""Duplicate rows of Arrow tables: exactly what pandas' duplicated() finds, within and across."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskwatch.ingestion.dedup import Seen, _confirmed, duplicates, row_hashes
from riskwatch.ingestion.stored import StoredMaster


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


def test_a_column_the_stored_master_lacks_counts_as_missing(tmp_path: Path) -> None:
    # The stored master is compared a column at a time: one it lacks is missing on every row.
    pq.write_table(_table(pd.DataFrame({"corporation": ["a", "b"]})), tmp_path / "m.parquet")
    stored = StoredMaster.open(tmp_path / "m.parquet")
    assert stored is not None
    seen = Seen()
    seen.add(stored)
    later = _table(pd.DataFrame({"corporation": ["a", "b", "b"], "extra": ["x", None, None]}))

    assert seen.check(later)[0].tolist() == [False, True, True]


def test_no_rows_have_no_duplicates() -> None:
    empty = _table(pd.DataFrame({"corporation": pd.Series([], dtype=str)}))

    assert duplicates([], empty).tolist() == []


def test_missing_values_and_signed_zeros_repeat_as_pandas_finds() -> None:
    frame = pd.DataFrame(
        {
            "corporation": ["a", "a", None, None, "b", "b", "Zoë", "Zoë"],
            "share": [np.nan, np.nan, 1.5, 1.5, -0.0, 0.0, 2.0, 2.5],
        }
    )
    found = duplicates([_table(frame.iloc[:3])], _table(frame.iloc[3:].reset_index(drop=True)))

    assert found.tolist() == frame.duplicated().to_numpy()[3:].tolist()
    assert found.tolist() == [True, False, True, False, False]


def test_different_rows_sharing_a_hash_are_told_apart() -> None:
    table = _table(pd.DataFrame({"corporation": ["a", "b", "a", "b", "c"]}))
    keys = np.array([7, 7, 7, 7, 9], dtype=np.uint64)  # as if all four hashed alike

    found = _confirmed(table, keys, np.arange(4))

    assert found.tolist() == [False, False, True, True]


def test_ids_all_one_length_hash_as_they_do_among_ids_of_other_lengths() -> None:
    # The shortcut for one length must give the general sums: stored row hashes stay valid.
    ids = [f"corp{i:07d}" for i in range(70_000)]  # more than one slice of HASH_ROWS rows
    alone = row_hashes(pa.table({"corporation": pa.array(ids, pa.large_string())}))
    mixed = row_hashes(pa.table({"corporation": pa.array([*ids, "x"], pa.large_string())}))
    assert (alone == mixed[:-1]).all()
