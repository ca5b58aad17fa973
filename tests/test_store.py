"""The metadata database: opening a new one from several places at once."""

from __future__ import annotations

import threading
from pathlib import Path

from riskwatch.store import MIGRATIONS, Store, schema_version


def test_a_new_database_opened_at_the_same_moment_by_many_is_migrated_once(
    tmp_path: Path,
) -> None:
    # The API and a cycle may open a fresh workspace's database together.
    errors: list[str] = []
    for round_ in range(5):
        url = f"sqlite:///{tmp_path}/race{round_}.db"
        start = threading.Barrier(6)

        def open_store(url: str = url, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                Store(url).close()
            except Exception as exc:  # any failure at all is what this test looks for
                errors.append(repr(exc))

        openers = [threading.Thread(target=open_store) for _ in range(6)]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join()
        assert errors == []
        with Store(url) as store:
            versions = [row["version"] for row in store.rows(schema_version)]
        assert versions == list(range(1, len(MIGRATIONS) + 1))
