"""Validation of a batch's chunks: good rows typed, bad rows with line and reason."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from riskwatch.ingestion import ingest
from riskwatch.ingestion.readers import read_file
from riskwatch.ingestion.validation import Checked, as_written, validate_chunks

from ..conftest import csv_rows
from .conftest import AddFile, MakeSettings, master


def test_client_id_over_the_length_limit_is_quarantined_with_its_length(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    long_id = "x" * 200_000
    add_file("ids.csv", csv_rows(f"{long_id},1,12,3,0", f"{'y' * 200},1,12,3,0", "ok,2,24,4,1"))
    settings = make_settings()
    result = ingest(settings).batches[0]
    assert (result.rows_added, result.rows_quarantined) == (2, 1)
    assert master(settings)["corporation"].tolist() == ["y" * 200, "ok"]
    bad = pd.read_csv(result.quarantine_file, keep_default_na=False, dtype=str)
    assert bad["reason"].tolist() == ["corporation is 200,000 characters long; the limit is 200"]
    assert bad["corporation"].tolist() == [long_id]  # kept whole in quarantine, as written


def test_unparsable_lines_count_as_read_and_as_bad(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(csv_rows("x,1,12,3,0", "y,1,12,3,0,extra", "z,-1,12,3,0"))
    checked = validate_chunks(read_file(path, chunk_rows=10))
    assert checked.rows_read == 3
    assert checked.good["corporation"].tolist() == ["x"]
    assert sorted(checked.bad["line"].tolist()) == [3, 4]


def test_missing_values_are_counted_a_column(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(csv_rows("x,,12,3,0", "y,1,,,0", "z,1,12,3,0"))
    checked = validate_chunks(read_file(path, chunk_rows=1))
    assert checked.missing["lastmonth_activity"] == 1
    assert checked.missing["lastyear_activity"] == 1
    assert checked.missing["number_of_employees"] == 1


def test_bad_rows_are_shown_as_the_file_wrote_them(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(csv_rows("x,1e400,12,3,0", "y,1,12,3,0"))
    checked = validate_chunks(read_file(path, chunk_rows=10))
    shown = as_written(path, checked.bad)
    assert shown["lastmonth_activity"].tolist() == ["1e400"]
    assert as_written(None, checked.bad) is checked.bad


def _validated_both_ways(path: Path, extra_columns: str = "drop") -> tuple[Checked, Checked]:
    """The file validated as read (clean chunks as Arrow) and with every chunk in pandas."""
    as_read = validate_chunks(read_file(path, chunk_rows=2), extra_columns)
    chunks = list(read_file(path, chunk_rows=2))
    assert chunks[0].table is not None  # a clean first chunk: read by pyarrow
    for chunk in chunks:
        chunk.frame  # noqa: B018 - converted: schema.validate checks it
    return as_read, validate_chunks(chunks, extra_columns)


@pytest.mark.parametrize(
    ("rows", "extra_columns"),
    [
        (["a,1,12,3,0", "b,2,24,4,1", "c,0,0,1,0"], "drop"),
        (["a,1,12,3,0", " b,2,24,4,1", "c ,0,0,1,0"], "drop"),
        (["a,1,12,3,0", "\u00a0b,2,24,4,1", "c\u3000,0,0,1,0", "Zoë,1,1,1,1"], "drop"),
        (["a,1,12,3,0", "b,-2,24,4,1", "c,0,0,1,2", f"d,{10**13},1,1,0"], "drop"),
        (["a,1,12,3,0", f"{'é' * 150},2,24,4,1", f"{'e' * 201},0,0,1,0"], "drop"),
        (['"a, inc",1,12,3,0', '"say ""b""",2,24,4,1', "007,0,0,1,0"], "drop"),
    ],
)
def test_clean_rows_checked_as_arrow_match_the_pandas_validation(
    tmp_path: Path, rows: list[str], extra_columns: str
) -> None:
    path = tmp_path / "a.csv"
    path.write_text(csv_rows(*rows), encoding="utf-8")
    as_read, in_pandas = _validated_both_ways(path, extra_columns)
    assert as_read.good_rows.equals(in_pandas.good_rows, check_metadata=True)
    pd.testing.assert_frame_equal(as_read.bad, in_pandas.bad)
    assert (as_read.rows_read, as_read.missing) == (in_pandas.rows_read, in_pandas.missing)


def test_kept_extra_columns_of_a_clean_file_are_text(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited,region\n"
        "a,1,12,3,0,7\nb,2,24,4,1,8\n"
    )
    as_read, in_pandas = _validated_both_ways(path, "keep")
    assert as_read.good_rows.equals(in_pandas.good_rows, check_metadata=True)
    assert as_read.good["region"].tolist() == ["7", "8"]
