"""Database sources (SQLite and a real PostgreSQL) and the metadata store on both."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from riskwatch.config import Settings, load_settings
from riskwatch.ingestion.ingest import check, ingest
from riskwatch.storage.store import MIGRATIONS, Store


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


def test_store_migrations_are_ordered_and_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/meta.db"
    assert Store(url).migrate() == len(MIGRATIONS)
    store = Store(url)
    with store.engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM riskwatch_schema_version")).scalars()
        assert list(versions) == list(range(1, len(MIGRATIONS) + 1))
    store.close()


@pytest.mark.postgres
def test_postgres_source_and_store_ingest_by_watermark(workspace: Path, postgres_url: str) -> None:
    settings = db_settings(workspace, postgres_url, postgres_url)
    assert_watermark_ingestion(settings, postgres_url)
    store = Store(postgres_url)
    assert [r.status for r in store.batches()] == ["ingested", "ingested"]
    assert store.batches()[1].watermark_low == 50
    store.close()


@pytest.mark.postgres
def test_postgres_store_records_folder_batches(
    make_settings: Callable[..., Settings], workspace: Path, postgres_url: str
) -> None:
    (workspace / "sourcedata" / "a.csv").write_text(
        "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\nx,1,12,3,0\n"
    )
    settings = make_settings(database_url=postgres_url)
    assert ingest(settings).batches[0].rows_added == 1
    (settings.output_folder_path / ".riskwatch-state.json").unlink()  # lost cache: ask the store
    assert not ingest(settings).new_data
    store = Store(postgres_url)
    [record] = store.batches()
    assert (record.name, record.rows_added) == ("a.csv", 1)
    store.close()
