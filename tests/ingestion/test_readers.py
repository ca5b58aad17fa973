"""Readers of data files: chunks of rows, each with its line number, or a clear refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from riskwatch.ingestion.arrowcsv import clean_csv_chunks
from riskwatch.ingestion.readers import (
    RawChunk,
    UnreadableBatchError,
    _csv_chunks,
    raw_csv_cells,
    read_file,
)
from riskwatch.ingestion.validation import validate_chunks

from ..conftest import HEADER, csv_rows


def test_csv_rows_keep_their_line_numbers_past_a_skipped_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(csv_rows("a,1,12,3,0", "b,1,12,3,0,extra", "c,1,12,3,0", "d,1,12,3,0"))
    chunks = list(read_file(path, chunk_rows=2))
    lines = [int(line) for chunk in chunks for line in chunk.lines]
    assert lines == [2, 4, 5]
    assert [line for chunk in chunks for line, _ in chunk.skipped] == [3]


def test_ids_that_look_like_numbers_stay_as_written(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(csv_rows("007,1,12,3,0", "12,1,12,3,0"))
    [chunk] = read_file(path, chunk_rows=10)
    assert chunk.frame["corporation"].tolist() == ["007", "12"]


def test_jsonl_and_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    row = dict(zip(HEADER.split(","), ["x", 1, 12, 3, 0], strict=True))
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("".join(json.dumps(row) + "\n" for _ in range(3)))
    parquet = tmp_path / "a.parquet"
    pd.DataFrame([row] * 3).to_parquet(parquet)
    for path in (jsonl, parquet):
        lines = [int(line) for chunk in read_file(path, chunk_rows=2) for line in chunk.lines]
        assert lines == [1, 2, 3]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"\x00binary", "binary file"),
        (b'{"corporation": "x"}\nnot json\n', "not valid JSON lines on line 2"),
    ],
    ids=["empty", "binary", "bad-json"],
)
def test_an_unreadable_file_says_why(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / ("a.jsonl" if content.startswith(b"{") else "a.csv")
    path.write_bytes(content)
    with pytest.raises(UnreadableBatchError, match=reason):
        list(read_file(path, chunk_rows=10))


def test_raw_cells_are_the_text_of_the_lines_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(csv_rows("a,1e400,12,3,0", "b, 12 ,12,3,0", "c,1,12,3,0"))
    header, cells = raw_csv_cells(path, {3})
    assert header == HEADER.split(",")
    assert cells == {3: ["b", " 12 ", "12", "3", "0"]}


@pytest.mark.parametrize(
    ("second_line", "line"),
    [("[1, 2]", 2), ('"text"', 2), ("7", 2)],
)
def test_a_json_lines_file_with_a_line_that_is_no_object_is_refused_naming_it(
    tmp_path: Path, second_line: str, line: int
) -> None:
    row = dict(zip(HEADER.split(","), ["x", 1, 12, 3, 0], strict=True))
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(row) + "\n" + second_line + "\n")
    with pytest.raises(UnreadableBatchError) as refused:
        list(read_file(path, chunk_rows=10))
    assert str(refused.value) == (
        f"not valid JSON lines on line {line}: each line must be one JSON object"
    )


def test_a_json_lines_file_of_lists_only_is_refused_at_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("[1, 2]\n[3, 4]\n")
    with pytest.raises(UnreadableBatchError, match=r"^not valid JSON lines on line 1: each line"):
        list(read_file(path, chunk_rows=10))


def _both_readers(path: Path) -> tuple[list[RawChunk], list[RawChunk]]:
    """The file through read_file (fast when clean) and through the careful pandas reader."""
    careful = list(_csv_chunks(path, HEADER.split(","), 2, id_as_text=True))
    return list(read_file(path, chunk_rows=2)), careful


def test_a_clean_csv_reads_the_same_rows_and_lines_through_the_fast_reader(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.csv"
    path.write_text(csv_rows("007,1,12,3,0", '"b, inc",0,0,1,1', " spaced ,5,60,7,0", "NA,1,2,3,1"))
    assert clean_csv_chunks(path, HEADER.split(","), 2) is not None
    fast, careful = _both_readers(path)
    assert [c.lines.tolist() for c in fast] == [c.lines.tolist() for c in careful]
    for one, other in zip(fast, careful, strict=True):
        pd.testing.assert_frame_equal(one.frame, other.frame, check_index_type=False)
    assert fast[0].frame["corporation"].tolist() == ["007", "b, inc"]


@pytest.mark.parametrize(
    "rows",
    [
        ('"a\nb",1,12,3,0', "c,1,12,3,0"),  # a line break inside quotes: lines != rows
        ("a,1,12,3,0", "", "c,1,12,3,0"),  # a blank line
        ("a,NA,12,3,0", "c,1,12,3,0"),  # a missing number
        ("a,1.5,12,3,0", "c,1,12,3,0"),  # a number that is not whole
    ],
    ids=["quoted-line-break", "blank-line", "missing", "fraction"],
)
def test_a_csv_that_is_not_clean_is_left_to_the_careful_reader(
    tmp_path: Path, rows: tuple[str, ...]
) -> None:
    path = tmp_path / "a.csv"
    path.write_text(csv_rows(*rows))
    assert clean_csv_chunks(path, HEADER.split(","), 2) is None


@pytest.mark.parametrize("bad", ["x,1,12,3,0,extra", "y,many,12,3,0", ""], ids=str)
def test_a_bad_line_past_the_first_block_hands_over_to_the_careful_reader_on_its_line(
    tmp_path: Path, bad: str
) -> None:
    path = tmp_path / "a.csv"
    clean = [f"c{i},{i % 50},{i % 600},{1 + i % 9},{i % 2}" for i in range(120_000)]
    path.write_text(csv_rows(*clean[:90_000], bad, *clean[90_000:]))  # past pyarrow's 1 MB
    fast = list(read_file(path, chunk_rows=40_000))
    careful = list(_csv_chunks(path, HEADER.split(","), 40_000, id_as_text=False))
    assert [line for c in fast for line in c.lines] == [line for c in careful for line in c.lines]
    assert [s for c in fast for s in c.skipped] == [s for c in careful for s in c.skipped]
    # A chunk holding text in a number column is read as text: compare what validation makes of it.
    fast_checked, careful_checked = validate_chunks(fast), validate_chunks(careful)
    assert fast_checked.good_rows.equals(careful_checked.good_rows)
    pd.testing.assert_frame_equal(fast_checked.bad, careful_checked.bad)
    assert fast[-1].position == path.stat().st_size
