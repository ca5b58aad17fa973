"""The master dataset: appended atomically to both files, read back, rebuilt after a crash."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from riskwatch.ingestion import master as masterdata
from riskwatch.ingestion.master import (
    INGESTED_LIST,
    MASTER_CSV,
    MASTER_PARQUET,
    append_master,
    master_batch_ids,
    read_master,
    rebuild_csv,
    write_ingested_list,
)
from riskwatch.schema import REQUIRED

from ..conftest import HEADER


def rows(batch_id: int, *ids: str) -> pd.DataFrame:
    frame = pd.DataFrame([[i, 1, 12, 3, 0] for i in ids], columns=HEADER.split(","))
    return frame.assign(batch_id=batch_id)


def test_no_master_yet_reads_as_no_rows_with_the_schema_columns(tmp_path: Path) -> None:
    frame = read_master(tmp_path)
    assert frame.empty
    assert list(frame.columns) == list(REQUIRED)


def test_appends_reach_both_files_and_count_every_row(tmp_path: Path) -> None:
    assert append_master(tmp_path, rows(1, "a", "b")) == 2
    assert append_master(tmp_path, rows(2, "c")) == 3
    assert read_master(tmp_path)["corporation"].tolist() == ["a", "b", "c"]
    assert pd.read_csv(tmp_path / MASTER_CSV)["batch_id"].tolist() == [1, 1, 2]
    assert master_batch_ids(tmp_path) == {1, 2}


def test_the_csv_is_rebuilt_from_the_parquet_record(tmp_path: Path) -> None:
    append_master(tmp_path, rows(1, "a", "b"))
    (tmp_path / MASTER_CSV).unlink()
    rebuild_csv(tmp_path)
    assert pd.read_csv(tmp_path / MASTER_CSV)["corporation"].tolist() == ["a", "b"]
    assert (tmp_path / MASTER_PARQUET).exists()


def test_a_classic_csv_without_parquet_is_still_read(tmp_path: Path) -> None:
    rows(1, "a").drop(columns="batch_id").to_csv(tmp_path / MASTER_CSV, index=False)
    assert read_master(tmp_path)["corporation"].tolist() == ["a"]
    assert master_batch_ids(tmp_path) == set()


def test_the_ingested_list_has_one_name_a_line(tmp_path: Path) -> None:
    write_ingested_list(tmp_path, ["a.csv", "b.csv"])
    assert (tmp_path / INGESTED_LIST).read_text() == "a.csv\nb.csv\n"


def _awkward(batch_id: int) -> pd.DataFrame:
    """Rows whose text needs quoting or is not ASCII, with a kept text column."""
    ids = ["Smith, Jones & Co", 'the "best" firm', "Zoë Müller GmbH", "株式会社", "=SUM(A1)", " x"]
    frame = pd.DataFrame(
        {
            "corporation": [f"{name} {batch_id}" for name in ids],
            "lastmonth_activity": [0, 1, 10**12, 7, 3, 2],
            "lastyear_activity": [12, 0, 5, 10**11, 4, 9],
            "number_of_employees": [1, 2, 3, 4, 5, 6],
            "exited": [0, 1, 0, 1, 0, 1],
            "note": ["1.50", "", "line one\nline two", "NA", "-0", "tab\there"],
        }
    )
    return frame.assign(batch_id=batch_id)


def test_the_csv_copy_reads_back_as_the_parquet_record_awkward_values_included(
    tmp_path: Path,
) -> None:
    append_master(tmp_path, _awkward(1))
    append_master(tmp_path, _awkward(2))  # appended to the file's bytes

    text = {"corporation": str, "note": str}
    copy = pd.read_csv(tmp_path / MASTER_CSV, dtype=text, keep_default_na=False)
    pd.testing.assert_frame_equal(copy, read_master(tmp_path), check_dtype=False)
    with (tmp_path / MASTER_CSV).open(encoding="utf-8", newline="") as handle:
        header, *records = csv.reader(handle)
    assert header == [*HEADER.split(","), "note", "batch_id"]
    assert [record[0] for record in records] == read_master(tmp_path)["corporation"].tolist()


def test_an_appended_csv_copy_is_the_file_written_afresh(tmp_path: Path) -> None:
    append_master(tmp_path, _awkward(1))
    append_master(tmp_path, _awkward(2))
    appended = (tmp_path / MASTER_CSV).read_bytes()

    rebuild_csv(tmp_path)

    assert (tmp_path / MASTER_CSV).read_bytes() == appended


def test_an_append_to_a_master_of_many_row_groups_streams_them_into_full_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(masterdata, "MASTER_GROUP_ROWS", 2)
    append_master(tmp_path, _awkward(1))  # 6 rows: three row groups
    append_master(tmp_path, _awkward(2))  # read and written one row group at a time
    append_master(tmp_path, rows(3, "last"))

    record = pq.ParquetFile(tmp_path / MASTER_PARQUET)
    sizes = [record.metadata.row_group(i).num_rows for i in range(record.num_row_groups)]
    assert sizes == [2, 2, 2, 2, 2, 2, 1]
    expected = pd.concat([_awkward(1), _awkward(2), rows(3, "last")], ignore_index=True)
    pd.testing.assert_frame_equal(read_master(tmp_path), expected, check_dtype=False)
    appended = (tmp_path / MASTER_CSV).read_bytes()
    rebuild_csv(tmp_path)
    assert (tmp_path / MASTER_CSV).read_bytes() == appended


def test_rows_lacking_a_column_earlier_rows_have_reach_the_csv_with_it_empty(
    tmp_path: Path,
) -> None:
    append_master(tmp_path, rows(1, "a").assign(note="kept"))
    append_master(tmp_path, rows(2, "b"))

    copy = pd.read_csv(tmp_path / MASTER_CSV, keep_default_na=False)
    assert copy[["corporation", "note", "batch_id"]].values.tolist() == [
        ["a", "kept", 1],
        ["b", "", 2],
    ]
