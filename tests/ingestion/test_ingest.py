"""Ingestion from a folder: new-data detection, validation, quarantine, dedup, atomic writes."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from riskwatch.config import Settings, load_settings
from riskwatch.ingestion import master as masterdata
from riskwatch.ingestion.ingest import check, ingest
from riskwatch.storage.store import Store

from ..conftest import CLASSIC, HEADER, csv_rows

AddFile = Callable[[str, str | bytes], Path]
MakeSettings = Callable[..., Settings]


def master(settings: Settings) -> pd.DataFrame:
    return pd.read_csv(settings.output_folder_path / "finaldata.csv")


def test_classic_practice_data_ingests_to_26_rows(tmp_path: Path) -> None:
    shutil.copytree(CLASSIC, tmp_path / "classic")
    settings = load_settings(tmp_path / "classic" / "config.json", env={})
    report = ingest(settings)
    assert [b.rows_read for b in report.batches] == [17, 19]
    assert [b.rows_duplicate for b in report.batches] == [0, 10]
    frame = master(settings)
    assert len(frame) == 26
    assert list(frame.columns[:5]) == HEADER.split(",")
    listed = (settings.output_folder_path / "ingestedfiles.txt").read_text().splitlines()
    assert listed == ["dataset1.csv", "dataset2.csv"]
    means = frame[["lastmonth_activity", "lastyear_activity", "number_of_employees"]].mean()
    assert means.round(3).tolist() == [165.654, 1502.923, 26.885]


def test_classic_switch_to_sourcedata_ingests_the_new_folder(tmp_path: Path) -> None:
    shutil.copytree(CLASSIC, tmp_path / "classic")
    config = tmp_path / "classic" / "config.json"
    ingest(load_settings(config, env={}))
    settings = load_settings(config, env={}, overrides={"input_folder_path": "sourcedata"})
    report = ingest(settings)
    assert [b.name for b in report.batches] == ["dataset3.csv", "dataset4.csv"]
    assert report.master_rows == 26 + 26


def test_ingest_again_with_nothing_new_changes_nothing(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0", "y,2,24,4,1"))
    settings = make_settings()
    ingest(settings)
    csv = settings.output_folder_path / "finaldata.csv"
    before = (csv.read_bytes(), csv.stat().st_mtime_ns)
    report = ingest(settings)
    assert not report.new_data
    assert report.already_ingested == 1
    assert report.summary().startswith("No new data")
    assert (csv.read_bytes(), csv.stat().st_mtime_ns) == before


def test_new_content_under_an_old_name_is_new_data(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0"))
    settings = make_settings()
    ingest(settings)
    add_file("a.csv", csv_rows("x,1,12,3,0", "z,5,60,9,1"))
    report = ingest(settings)
    assert report.new_data
    assert report.batches[0].rows_duplicate == 1
    assert report.batches[0].rows_added == 1
    assert master(settings)["corporation"].tolist() == ["x", "z"]


def test_file_that_disappears_is_reported_and_its_rows_stay(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    path = add_file("a.csv", csv_rows("x,1,12,3,0"))
    settings = make_settings()
    ingest(settings)
    path.unlink()
    report = ingest(settings)
    assert report.missing == ["a.csv"]
    assert "Gone from the source" in report.summary()
    assert master(settings)["corporation"].tolist() == ["x"]


def test_unchanged_size_and_mtime_are_not_rehashed(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    path = add_file("a.csv", csv_rows("x,1,12,3,0"))
    settings = make_settings()
    ingest(settings)
    stat = path.stat()
    path.write_text(csv_rows("q,1,12,3,0"))  # same size: only a re-hash would notice
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert check(settings).new == []
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert [b.name for b in check(settings).new] == ["a.csv"]


def test_dry_run_says_what_is_new_and_writes_nothing(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0"))
    settings = make_settings()
    report = ingest(settings, dry_run=True)
    assert report.pending == ["a.csv"]
    assert not (settings.output_folder_path / "finaldata.csv").exists()
    assert ingest(settings).batches[0].rows_added == 1


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


def test_quarantined_rows_never_hold_a_cell_a_spreadsheet_would_run(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("hostile.csv", csv_rows("\"=cmd|' /C calc'!A0\",x,12,3,0", "@SUM(A1),1,12,3,9"))
    result = ingest(make_settings()).batches[0]
    cells = [
        cell
        for line in Path(result.quarantine_file).read_text().splitlines()[1:]
        for cell in next(csv.reader([line]))
    ]
    assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(A1)" in cells
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]


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


def test_every_batch_is_recorded_with_counts(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0", "bad,-1,1,1,0"))
    settings = make_settings()
    ingest(settings)
    store = Store(settings.database_url)
    [record] = store.batches()
    store.close()
    assert record.name == "a.csv"
    assert record.source == "folder:sourcedata"
    assert (record.rows_read, record.rows_valid, record.rows_quarantined) == (2, 1, 1)
    assert record.status == "ingested"
    assert len(record.sha256) == 64
    assert record.finished_at is not None
    assert record.started_at <= record.finished_at


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


def test_quarantined_rows_keep_every_cell_as_written(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    written = [
        "big,1e400,12,3,0",
        "float,1e30,12,3,0",
        'spaced," 12 ",0x1F,3,0',
        "neg,-4,012,3.0,0",
        "missing,NA,12,,0",
        "formula,=1+1,12,3,0",
        "good,2,24,4,1",
    ]
    add_file("asis.csv", csv_rows(*written))
    result = ingest(make_settings()).batches[0]
    assert result.rows_quarantined == 6
    with Path(result.quarantine_file).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    cells = [row[header.index("corporation") :] for row in rows[1:]]
    expected = [next(csv.reader([line])) for line in written[:-1]]
    expected[-1][1] = "'=1+1"  # a formula stays neutralised
    assert cells == expected
