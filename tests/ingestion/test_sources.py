"""The source the settings name, and the metadata store that records its batches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from riskwatch.config import Settings, load_settings
from riskwatch.ingestion import ingest
from riskwatch.ingestion.sources import open_source, redact
from riskwatch.storage.store import MIGRATIONS, Store


def test_the_settings_choose_the_source_and_its_key(workspace: Path) -> None:
    folder = open_source(load_settings(workspace / "riskwatch.toml", env={}))
    assert folder.key == "folder:sourcedata"
    overrides = {
        "source": "database",
        "source_url": "postgresql://reader:secret@db.example/clients",
        "source_table": "activity",
    }
    table = open_source(load_settings(workspace / "riskwatch.toml", env={}, overrides=overrides))
    assert table.key == "database:postgresql://reader:***@db.example/clients:activity"


def test_a_url_keeps_its_user_but_not_its_password() -> None:
    assert redact("postgresql://u:s3cret@h/db") == "postgresql://u:***@h/db"
    assert redact("sqlite:///x.db") == "sqlite:///x.db"
    assert redact("postgresql://u:p@ss@h:5432/db?x=a@b") == "postgresql://u:***@h:5432/db?x=a@b"


def test_store_migrations_are_ordered_and_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/meta.db"
    assert Store(url).migrate() == len(MIGRATIONS)
    store = Store(url)
    with store.engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version FROM riskwatch_schema_version")).scalars()
        assert list(versions) == list(range(1, len(MIGRATIONS) + 1))
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
