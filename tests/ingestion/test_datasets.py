"""Labelled data files read whole: every row good, or a refusal that names file and lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskwatch.ingestion.datasets import DataError, data_files, read_labelled

from ..conftest import HEADER, csv_rows


def test_a_folder_gives_its_supported_files_in_order(tmp_path: Path) -> None:
    for name in ("b.csv", "a.jsonl", "notes.txt"):
        (tmp_path / name).write_text("")
    assert [p.name for p in data_files(tmp_path)] == ["a.jsonl", "b.csv"]


def test_a_folder_without_data_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no data file"):
        data_files(tmp_path)


def test_good_rows_of_every_file_are_read_with_the_schema_columns(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(csv_rows("x,1,12,3,0", header=HEADER + ",region"))
    (tmp_path / "b.csv").write_text(csv_rows("y,2,24,4,1"))
    frame = read_labelled(tmp_path)
    assert frame["corporation"].tolist() == ["x", "y"]
    assert list(frame.columns) == HEADER.split(",")


def test_a_bad_row_stops_the_read_with_its_file_line_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "holdout.csv"
    path.write_text(csv_rows("x,1,12,3,0", "y,-1,12,3,0", "z,1,12,3,0,extra"))
    with pytest.raises(DataError) as raised:
        read_labelled(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: 2 bad row(s): line 3: lastmonth_activity is negative")
    assert "line 4: expected 5 fields, saw 6" in message


def test_rows_without_a_label_are_read_when_none_is_required(tmp_path: Path) -> None:
    path = tmp_path / "unlabelled.csv"
    path.write_text(csv_rows("x,1,12,3", header=HEADER.rsplit(",", 1)[0]))
    assert read_labelled(path, require_target=False)["corporation"].tolist() == ["x"]
