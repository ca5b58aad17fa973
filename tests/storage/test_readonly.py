"""The metadata database read with sqlite3 alone: the same records as the store gives."""

from __future__ import annotations

from pathlib import Path

from riskwatch.storage.readonly import JSON_COLUMNS, SCHEMA_VERSION, read_only, sqlite_file
from riskwatch.storage.store import MIGRATIONS, Store, cycles, promotions, scores
from riskwatch.storage.tables import JSON_COLUMNS as STORE_JSON_COLUMNS


def test_the_reader_knows_every_migration_and_json_column_of_the_store() -> None:
    assert len(MIGRATIONS) == SCHEMA_VERSION
    assert JSON_COLUMNS == STORE_JSON_COLUMNS


def filled(tmp_path: Path) -> str:
    """A migrated database with a few records of the kinds status reads."""
    url = f"sqlite:///{tmp_path / 'riskwatch.db'}"
    with Store(url) as store:
        for promoted, value in ((True, 0.8), (False, None)):
            store.add(
                promotions,
                challenger="v2",
                production="v1",
                metric="roc_auc",
                margin=0.01,
                challenger_value=value,
                production_value=0.7,
                promoted=promoted,
                reason="r",
                decided_at="2026-11-30T00:00:00Z",
            )
        for version in ("v1", "v2", "v1"):
            store.add(
                scores,
                version=version,
                dataset="d",
                dataset_sha256="0" * 64,
                rows=10,
                metrics={"f1": {"value": 0.5}},
                scored_at="2026-11-30T00:00:00Z",
            )
        store.add(cycles, trigger="manual", outcome="ok", steps=[{"name": "a"}], started_at="t")
    return url


def test_records_read_with_sqlite3_equal_the_stores(tmp_path: Path) -> None:
    url = filled(tmp_path)
    with Store(url) as store:
        expected = [
            store.rows(promotions),
            store.rows(promotions, newest_first=True, limit=1),
            store.rows(scores, newest_first=True, limit=2, version="v1"),
            store.rows(cycles),
        ]
    with read_only(url) as rows:
        assert rows is not None
        found = [
            rows("promotions"),
            rows("promotions", newest_first=True, limit=1),
            rows("scores", newest_first=True, limit=2, version="v1"),
            rows("cycles"),
        ]
    assert found == expected
    assert [type(row["promoted"]) for row in found[0]] == [bool, bool]


def test_a_database_to_create_or_migrate_is_left_to_the_store(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    with read_only(missing) as rows:
        assert rows is None
    assert not (tmp_path / "none.db").exists()
    (tmp_path / "empty.db").write_bytes(b"")
    with read_only(f"sqlite:///{tmp_path / 'empty.db'}") as rows:
        assert rows is None


def test_only_a_plain_sqlite_url_to_an_existing_file_is_read_directly(tmp_path: Path) -> None:
    database = tmp_path / "riskwatch.db"
    database.write_bytes(b"")
    assert sqlite_file(f"sqlite:///{database}") == database
    assert sqlite_file(f"sqlite:///{database}?timeout=30") is None
    assert sqlite_file(f"sqlite+pysqlite:///{database}") is None
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("postgresql+psycopg://u:p@localhost/riskwatch") is None
