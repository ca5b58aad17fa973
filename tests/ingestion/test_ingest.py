"""The public entry: check and ingest a folder end to end, and what a second run sees."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from riskwatch.config import load_settings
from riskwatch.ingestion import check, ingest
from riskwatch.storage.store import Store

from ..conftest import CLASSIC, HEADER, csv_rows
from .conftest import AddFile, MakeSettings, master


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


def test_a_classic_master_csv_keeps_its_rows_when_new_data_is_ingested(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    # A classic workspace ingested by another tool has finaldata.csv and no Parquet record.
    settings = make_settings()
    settings.output_folder_path.mkdir(parents=True, exist_ok=True)
    classic = csv_rows("old1,1,12,3,0", "old2,2,24,4,1")
    (settings.output_folder_path / "finaldata.csv").write_text(classic)
    add_file("b.csv", csv_rows("new1,5,60,7,0", "old1,1,12,3,0"))
    report = ingest(settings)
    assert [(b.rows_added, b.rows_duplicate) for b in report.batches] == [(1, 1)]
    assert report.master_rows == 3
    assert sorted(master(settings)["corporation"]) == ["new1", "old1", "old2"]


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


def test_dry_run_says_what_is_new_and_writes_nothing(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0"))
    settings = make_settings()
    report = ingest(settings, dry_run=True)
    assert report.pending == ["a.csv"]
    assert not (settings.output_folder_path / "finaldata.csv").exists()
    assert ingest(settings).batches[0].rows_added == 1


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


def test_after_an_ingest_nothing_new_is_known_without_the_database(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0"))
    ingest(make_settings())
    offline = make_settings(database_url="sqlite:////nonexistent/folder/riskwatch.db")
    found = check(offline)
    assert (found.new, found.already_ingested) == ([], 1)


def test_the_package_entry_imports_no_heavy_library() -> None:
    probe = (
        "import sys\n"
        "from riskwatch.ingestion import check, ingest\n"
        "names = ('pandas', 'numpy', 'sklearn', 'sqlalchemy', 'pyarrow')\n"
        "print(sorted(m for m in names if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]", result.stderr
