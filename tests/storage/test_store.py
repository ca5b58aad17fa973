"""The metadata database: opening a new one from several places at once."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from riskwatch.errors import StoreError
from riskwatch.storage.store import MIGRATIONS, Store, schema_version

from ..conftest import free_port


def test_a_new_database_opened_at_the_same_moment_by_many_is_migrated_once(
    tmp_path: Path,
) -> None:
    # The API and a cycle may open a fresh workspace's database together.
    for round_ in range(5):
        url = f"sqlite:///{tmp_path}/race{round_}.db"
        errors = open_together(url, 6)
        assert errors == []
        with Store(url) as store:
            versions = [row["version"] for row in store.rows(schema_version)]
        assert versions == list(range(1, len(MIGRATIONS) + 1))


@pytest.mark.postgres
def test_a_new_postgresql_database_opened_at_the_same_moment_by_many_is_migrated_once(
    postgres_url: str,
) -> None:
    assert open_together(postgres_url, 6) == []
    with Store(postgres_url) as store:
        versions = [row["version"] for row in store.rows(schema_version)]
    assert versions == list(range(1, len(MIGRATIONS) + 1))


def open_together(url: str, count: int) -> list[str]:
    """Open the database from `count` threads at the same moment; the errors they met."""
    errors: list[str] = []
    start = threading.Barrier(count)

    def open_store() -> None:
        start.wait()
        try:
            Store(url).close()
        except Exception as exc:  # any failure at all is what this test looks for
            errors.append(repr(exc))

    openers = [threading.Thread(target=open_store) for _ in range(count)]
    for opener in openers:
        opener.start()
    for opener in openers:
        opener.join()
    return errors


def test_a_refused_postgresql_connection_is_reported_at_once_without_the_password() -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://riskwatch:s3cret@127.0.0.1:{port}/riskwatch"
    started = time.monotonic()
    with pytest.raises(StoreError) as raised:
        Store(url)
    took = time.monotonic() - started
    message = str(raised.value)
    assert took < 2, f"took {took:.1f} s"
    assert (
        f"cannot open the metadata database postgresql+psycopg://riskwatch:***@127.0.0.1:{port}/riskwatch"
        in message
    )
    assert "s3cret" not in message
    assert "refused" in message.lower()


def test_a_database_is_migrated_once_per_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/once.db"
    Store(url).close()
    with sqlite3.connect(tmp_path / "once.db") as conn:  # a later step, applied by nobody else
        conn.execute(
            "DELETE FROM riskwatch_schema_version"
            " WHERE version = (SELECT max(version) FROM riskwatch_schema_version)"
        )
    with Store(url) as store:  # opened again in this process: not migrated again
        versions = [row["version"] for row in store.rows(schema_version)]
    assert versions == list(range(1, len(MIGRATIONS)))
