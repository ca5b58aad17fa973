"""Database sources (SQLite and a real PostgreSQL): rows past the watermark, named by it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from riskwatch.config import Settings, load_settings
from riskwatch.ingestion import check, ingest
from riskwatch.ingestion.sources import open_source
from riskwatch.storage.store import Store


def rows(start: int, count: int, *, bad_at: int | None = None) -> pd.DataFrame:
    """Client rows with ids start..start+count-1 (and a negative count at bad_at)."""
    ids = list(range(start, start + count))
    frame = pd.DataFrame(
        {
            "id": ids,
            "month": [1] * count,
            "corporation": [f"c{i}" for i in ids],
            "lastmonth_activity": [i % 7 for i in ids],
            "lastyear_activity": [i * 12 for i in ids],
            "number_of_employees": [1 + i % 5 for i in ids],
            "exited": [i % 2 for i in ids],
        }
    )
    if bad_at is not None:
        frame.loc[frame["id"] == bad_at, "lastmonth_activity"] = -5
    return frame


def append(url: str, frame: pd.DataFrame, table: str = "client_activity") -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        frame.to_sql(table, conn, if_exists="append", index=False)
    engine.dispose()


def db_settings(workspace: Path, source_url: str, store_url: str, **extra: object) -> Settings:
    overrides = {"source": "database", "source_url": source_url, "database_url": store_url}
    return load_settings(workspace / "riskwatch.toml", env={}, overrides=overrides | extra)


def assert_watermark_ingestion(settings: Settings, source_url: str) -> None:
    """Rows past the watermark, and only those, are ingested on each run."""
    append(source_url, rows(1, 50, bad_at=7))
    first = ingest(settings)
    assert first.batches[0].name == "client_activity.id[None..50]"
    assert (first.batches[0].rows_read, first.batches[0].rows_quarantined) == (50, 1)
    assert not ingest(settings).new_data
    append(source_url, rows(51, 20))
    assert check(settings).new_rows == 20
    second = ingest(settings)
    assert second.batches[0].name == "client_activity.id[50..70]"
    assert second.batches[0].rows_added == 20
    frame = pd.read_csv(settings.output_folder_path / "finaldata.csv")
    assert len(frame) == 69
    assert "id" not in frame.columns  # extra columns are dropped by default


def test_sqlite_table_is_ingested_by_watermark(workspace: Path) -> None:
    source = f"sqlite:///{workspace}/source.db"
    settings = db_settings(workspace, source, f"sqlite:///{workspace}/riskwatch.db")
    assert_watermark_ingestion(settings, source)


def test_query_source_with_a_timestamp_watermark(workspace: Path) -> None:
    source = f"sqlite:///{workspace}/source.db"
    frame = rows(1, 10)
    frame["loaded_at"] = [f"2026-01-{day:02d}T00:00:00" for day in range(1, 11)]
    append(source, frame, table="raw")
    query = "SELECT * FROM raw WHERE number_of_employees > 0"
    settings = db_settings(
        workspace,
        source,
        f"sqlite:///{workspace}/riskwatch.db",
        source_query=query,
        source_watermark_column="loaded_at",
    )
    assert ingest(settings).batches[0].rows_added == 10
    later = rows(11, 3)
    later["loaded_at"] = ["2026-02-01T00:00:00"] * 3
    append(source, later, table="raw")
    report = ingest(settings)
    assert report.batches[0].rows_added == 3
    assert report.batches[0].name.endswith("[2026-01-10T00:00:00..2026-02-01T00:00:00]")


def test_missing_source_table_is_a_clear_error(workspace: Path) -> None:
    source = f"sqlite:///{workspace}/source.db"
    settings = db_settings(workspace, source, f"sqlite:///{workspace}/riskwatch.db")
    from riskwatch.ingestion.readers import UnreadableBatchError  # noqa: PLC0415

    with pytest.raises(
        UnreadableBatchError, match=r"cannot query the source database.*client_activity"
    ):
        ingest(settings)


@pytest.mark.postgres
def test_postgres_source_and_store_ingest_by_watermark(workspace: Path, postgres_url: str) -> None:
    settings = db_settings(workspace, postgres_url, postgres_url)
    assert_watermark_ingestion(settings, postgres_url)
    store = Store(postgres_url)
    assert [r.status for r in store.batches()] == ["ingested", "ingested"]
    assert store.batches()[1].watermark_low == 50
    store.close()


def test_dry_run_names_the_batch_by_its_watermarks(workspace: Path) -> None:
    source = f"sqlite:///{workspace}/source.db"
    settings = db_settings(workspace, source, f"sqlite:///{workspace}/riskwatch.db")
    append(source, rows(1, 5))
    assert ingest(settings, dry_run=True).pending == ["client_activity.id[None..5]"]
    assert [b.name for b in ingest(settings).batches] == ["client_activity.id[None..5]"]


def test_rows_that_arrive_after_the_check_wait_for_the_next_batch(workspace: Path) -> None:
    source = f"sqlite:///{workspace}/source.db"
    settings = db_settings(workspace, source, f"sqlite:///{workspace}/riskwatch.db")
    append(source, rows(1, 5))
    [batch] = check(settings).new
    append(source, rows(6, 3))
    reading = open_source(settings).read(batch, chunk_rows=2)
    ids = [int(i) for chunk in reading.chunks for i in chunk.frame["id"]]
    assert ids == [1, 2, 3, 4, 5]
    assert len(reading.sha256) == 64
    assert check(settings).new_rows == 8  # nothing was recorded: all are still new


def test_the_same_rows_have_the_same_fingerprint(workspace: Path) -> None:
    settings = [
        db_settings(workspace, f"sqlite:///{workspace}/{name}.db", f"sqlite:///{workspace}/r.db")
        for name in ("one", "two")
    ]
    for each in settings:
        append(each.source_url, rows(1, 4))
    hashes = []
    for each in settings:
        reading = open_source(each).read(check(each).new[0], chunk_rows=3)
        list(reading.chunks)
        hashes.append(reading.sha256)
    assert hashes[0] == hashes[1]
