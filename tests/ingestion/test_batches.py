"""Loading new batches: counts, whole-file quarantine, duplicates, formats, crash recovery."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from riskwatch.ingestion import ingest, stored
from riskwatch.ingestion import master as masterdata

from ..conftest import HEADER, csv_rows
from .conftest import AddFile, MakeSettings, master


def test_ingest_quarantines_bad_rows_and_keeps_the_good_ones(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file(
        "mixed.csv",
        csv_rows(
            "good1,1,12,3,0",
            "neg,-4,12,3,0",
            "text,1,lots,3,0",
            ",1,12,3,0",
            "label,1,12,3,2",
            "frac,1.5,12,3,0",
            "toolong,1,12,3,0,extra",
            "missing,,12,3,1",
            "good2,2,24,4,1",
        ),
    )
    settings = make_settings()
    result = ingest(settings).batches[0]
    assert (result.rows_read, result.rows_added, result.rows_quarantined) == (9, 2, 7)
    assert master(settings)["corporation"].tolist() == ["good1", "good2"]
    bad = pd.read_csv(result.quarantine_file, keep_default_na=False)
    reasons = dict(zip(bad["line"], bad["reason"], strict=True))
    assert reasons[3] == "lastmonth_activity is negative ('-4')"
    assert reasons[4] == "lastyear_activity is not a number ('lots')"
    assert reasons[5] == "corporation is empty"
    assert reasons[6] == "exited must be 0 or 1 ('2')"
    assert reasons[7] == "lastmonth_activity is not a whole number ('1.5')"
    assert reasons[8].startswith("unparsable line: expected 5 fields, saw 6")
    assert reasons[9] == "lastmonth_activity is missing"
    assert set(bad["file"]) == {"mixed.csv"}
    assert result.missing_values["lastmonth_activity"] == 1
    assert result.missing_values["corporation"] == 1


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b"\x00\x01\x02binary\x00" * 50, "binary file"),
        (HEADER.encode() + b"\ncaf\xe9,1,12,3,0\n", "not UTF-8 text"),
        (b"x,1,12,3,0\ny,2,24,4,1\n", "no header row"),
        (b"corporation,lastmonth_activity,exited\nx,1,0\n", "required column(s) missing"),
        (HEADER.encode() + b",exited\nx,1,12,3,0,0\n", "column 'exited' appears more than once"),
    ],
    ids=["empty", "binary", "latin1", "no-header", "missing-column", "duplicate-header"],
)
def test_unreadable_file_is_quarantined_whole_and_others_still_ingest(
    make_settings: MakeSettings, add_file: AddFile, content: bytes, reason: str
) -> None:
    add_file("bad.csv", content)
    add_file("good.csv", csv_rows("x,1,12,3,0"))
    settings = make_settings()
    report = ingest(settings)
    by_name = {b.name: b for b in report.batches}
    assert by_name["bad.csv"].status == "quarantined"
    assert reason in by_name["bad.csv"].reason
    assert "QUARANTINED whole file" in report.summary()
    assert by_name["good.csv"].rows_added == 1
    assert master(settings)["corporation"].tolist() == ["x"]
    listed = (settings.output_folder_path / "ingestedfiles.txt").read_text().splitlines()
    assert listed == ["good.csv"]
    log = pd.read_csv(settings.output_folder_path / "quarantine" / "quarantined_files.csv")
    assert log["file"].tolist() == ["bad.csv"]
    again = ingest(settings)  # not retried until its content changes
    assert not again.new_data
    assert again.previously_quarantined == ["bad.csv"]


def test_exact_duplicates_are_removed_within_and_across_batches(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0", "x,1,12,3,0", "x,1,12,3,1"))
    add_file("b.csv", csv_rows("x,1,12,3,0", "y,2,24,4,1"))
    settings = make_settings()
    report = ingest(settings)
    assert [(b.rows_duplicate, b.rows_added) for b in report.batches] == [(1, 2), (1, 1)]
    assert len(master(settings)) == 3


def test_extra_columns_are_dropped_or_kept_by_setting(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0,north", header=HEADER + ",region"))
    dropped = make_settings()
    ingest(dropped)
    assert "region" not in master(dropped).columns
    kept = make_settings(
        extra_columns="keep", output_folder_path="kept", database_url="sqlite:///k.db"
    )
    ingest(kept)
    assert master(kept)["region"].tolist() == ["north"]


def test_jsonl_and_parquet_files_ingest(make_settings: MakeSettings, add_file: AddFile) -> None:
    rows = [
        {
            "corporation": "j",
            "lastmonth_activity": 1,
            "lastyear_activity": 12,
            "number_of_employees": 3,
            "exited": 0,
        },
        {
            "corporation": "k",
            "lastmonth_activity": -1,
            "lastyear_activity": 12,
            "number_of_employees": 3,
            "exited": 0,
        },
    ]
    add_file("a.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    settings = make_settings()
    frame = pd.DataFrame([{**rows[0], "corporation": "p"}])
    frame.to_parquet(settings.input_folder_path / "b.parquet")
    report = ingest(settings)
    by_name = {b.name: b for b in report.batches}
    assert (by_name["a.jsonl"].rows_added, by_name["a.jsonl"].rows_quarantined) == (1, 1)
    assert by_name["b.parquet"].rows_added == 1
    assert sorted(master(settings)["corporation"]) == ["j", "p"]


def test_corrupt_parquet_is_quarantined(make_settings: MakeSettings, add_file: AddFile) -> None:
    add_file("broken.parquet", b"PAR1 this is not parquet")
    report = ingest(make_settings())
    assert report.batches[0].status == "quarantined"
    assert "not a readable Parquet file" in report.batches[0].reason


def test_header_only_file_is_an_empty_batch_not_an_error(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0"))
    add_file("empty.csv", csv_rows())
    settings = make_settings()
    by_name = {b.name: b for b in ingest(settings).batches}
    assert (by_name["empty.csv"].status, by_name["empty.csv"].rows_read) == ("ingested", 0)
    frame = master(settings)
    assert frame["corporation"].tolist() == ["x"]
    assert list(frame.columns) == [*HEADER.split(","), "batch_id"]


def test_rows_after_a_header_only_first_file_append(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("empty.csv", csv_rows())
    settings = make_settings()
    assert ingest(settings).master_rows == 0
    add_file("a.csv", csv_rows("x,1,12,3,0"))
    assert ingest(settings).master_rows == 1
    assert master(settings)["corporation"].tolist() == ["x"]


def test_crash_while_writing_leaves_previous_master_intact(
    make_settings: MakeSettings, add_file: AddFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0"))
    settings = make_settings()
    ingest(settings)
    folder = settings.output_folder_path
    before = {name: (folder / name).read_bytes() for name in ("finaldata.csv", "finaldata.parquet")}
    add_file("b.csv", csv_rows("y,2,24,4,1"))
    real_write = pq.write_table

    def crash(table: object, where: Path, **kwargs: object) -> None:
        real_write(table, where, **kwargs)
        Path(where).write_bytes(Path(where).read_bytes()[:100])  # half-written, then the crash
        raise KeyboardInterrupt

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest(settings)
    monkeypatch.undo()
    assert {n: (folder / n).read_bytes() for n in before} == before
    assert not list(folder.glob(".*.tmp"))
    report = ingest(settings)  # the next run finishes the work
    assert [b.name for b in report.batches] == ["b.csv"]
    assert master(settings)["corporation"].tolist() == ["x", "y"]


def test_crash_while_streaming_a_large_master_leaves_it_intact(
    make_settings: MakeSettings, add_file: AddFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(masterdata, "MASTER_GROUP_ROWS", 2)  # a master of many row groups
    add_file("a.csv", csv_rows("x,1,12,3,0", "y,2,24,4,1", "z,3,36,5,0"))
    settings = make_settings()
    ingest(settings)
    folder = settings.output_folder_path
    names = ("finaldata.csv", "finaldata.parquet", "finaldata.rowhashes")
    before = {name: (folder / name).read_bytes() for name in names}
    add_file("b.csv", csv_rows("y,2,24,4,1", "w,4,48,6,0"))
    real_write = pq.ParquetWriter.write_table
    written: list[int] = []

    def crash(writer: pq.ParquetWriter, table: object, **kwargs: object) -> None:
        real_write(writer, table, **kwargs)
        written.append(1)
        if len(written) == 2:  # one row group of the old master copied, then the crash
            raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(pq.ParquetWriter, "write_table", crash)
        with pytest.raises(KeyboardInterrupt):
            ingest(settings)
    assert {n: (folder / n).read_bytes() for n in names} == before
    assert not list(folder.glob(".*.tmp"))
    [batch] = ingest(settings).batches  # the next run finishes the work
    assert (batch.name, batch.rows_duplicate, batch.rows_added) == ("b.csv", 1, 1)
    assert master(settings)["corporation"].tolist() == ["x", "y", "z", "w"]


def test_crash_between_parquet_and_csv_is_recovered_without_duplicates(
    make_settings: MakeSettings, add_file: AddFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0"))
    settings = make_settings()

    real_atomic_path = masterdata.atomic_path

    @contextlib.contextmanager
    def crash_before_csv_rename(target: Path) -> Iterator[Path]:
        with real_atomic_path(target) as temporary:
            yield temporary
            if target.name == "finaldata.csv":  # the Parquet file was renamed a moment ago
                raise KeyboardInterrupt

    monkeypatch.setattr(masterdata, "atomic_path", crash_before_csv_rename)
    with pytest.raises(KeyboardInterrupt):
        ingest(settings)
    monkeypatch.undo()
    folder = settings.output_folder_path
    assert (folder / "finaldata.parquet").exists()
    assert not (folder / "finaldata.csv").exists()
    report = ingest(settings)
    assert len(report.recovered) == 1
    assert not report.new_data
    assert master(settings)["corporation"].tolist() == ["x"]
    assert (settings.output_folder_path / "ingestedfiles.txt").read_text() == "a.csv\n"


def test_an_append_finds_repeats_of_the_master_through_its_kept_row_hashes(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0", "y,2,24,4,1"))
    settings = make_settings()
    ingest(settings)
    assert (settings.output_folder_path / "finaldata.rowhashes").exists()
    add_file("b.csv", csv_rows("y,2,24,4,1", "z,3,36,5,0"))
    [batch] = ingest(settings).batches
    assert (batch.rows_duplicate, batch.rows_added) == (1, 1)
    add_file("c.csv", csv_rows("z,3,36,5,0", "x,1,12,3,0", "w,1,1,1,1"))
    [batch] = ingest(settings).batches
    assert (batch.rows_duplicate, batch.rows_added) == (2, 1)
    assert master(settings)["corporation"].tolist() == ["x", "y", "z", "w"]


def test_a_master_rewritten_by_another_tool_is_hashed_anew(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0", "y,2,24,4,1"))
    settings = make_settings()
    ingest(settings)
    parquet = settings.output_folder_path / "finaldata.parquet"
    rewritten = pd.read_parquet(parquet)
    rewritten.loc[1, "lastmonth_activity"] = 9  # the kept hashes no longer describe this row
    rewritten.to_parquet(parquet, index=False)
    add_file("b.csv", csv_rows("y,9,24,4,1", "y,2,24,4,1"))
    [batch] = ingest(settings).batches
    assert (batch.rows_duplicate, batch.rows_added) == (1, 1)


@pytest.mark.parametrize("hashes_kept", [True, False])
def test_repeats_of_rows_anywhere_in_a_large_master_are_found_reading_it_piece_by_piece(
    make_settings: MakeSettings,
    add_file: AddFile,
    monkeypatch: pytest.MonkeyPatch,
    hashes_kept: bool,
) -> None:
    monkeypatch.setattr(masterdata, "MASTER_GROUP_ROWS", 2)
    monkeypatch.setattr(stored, "PIECE_ROWS", 2)  # the master is read two rows at a time
    add_file("a.csv", csv_rows(*(f"c{i},{i},12,3,0" for i in range(7))))
    settings = make_settings()
    ingest(settings)
    if not hashes_kept:  # then the master is hashed again, piece by piece
        (settings.output_folder_path / "finaldata.rowhashes").unlink()
    add_file("b.csv", csv_rows("c6,6,12,3,0", "new,1,1,1,1", "c0,0,12,3,0", "c3,3,12,3,0"))
    [batch] = ingest(settings).batches
    assert (batch.rows_duplicate, batch.rows_added) == (3, 1)
    assert master(settings)["corporation"].tolist() == [*(f"c{i}" for i in range(7)), "new"]
