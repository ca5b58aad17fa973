"""The overview keeps what it derives from the master dataset until the file changes: a second
request does not read it again, a new cycle's data shows at once."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from riskwatch.api import create_app
from riskwatch.ingestion.master import MASTER_PARQUET
from riskwatch.storage.store import Store, batches

from ..conftest import workspace_settings

KNOWN = re.compile(r"([\d,]+) listed clients? of ([\d,]+) with a known outcome")


@pytest.fixture
def workspace(demo_workspace: Path, tmp_path: Path) -> Path:
    """A copy of the web app's demo (two lists published, the first with outcomes)."""
    return Path(shutil.copytree(demo_workspace, tmp_path / "ws"))


@pytest.fixture
def client(workspace: Path) -> Iterator[TestClient]:
    with TestClient(create_app(workspace_settings(workspace))) as client:
        yield client


def known_outcomes(client: TestClient) -> tuple[str, str]:
    """The overview's "N listed clients of M with a known outcome", as (N, M)."""
    answer = client.get("/app/")
    assert answer.status_code == 200, answer.text
    found = KNOWN.search(answer.text)
    assert found, answer.text
    return found.group(1), found.group(2)


def same_identity(path: Path, content: bytes) -> None:
    """Write content of the file's size over it and give it back its modification time."""
    before = path.stat()
    assert len(content) == before.st_size
    path.write_bytes(content)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_second_overview_does_not_read_the_master_dataset_again(
    client: TestClient, workspace: Path
) -> None:
    master = workspace_settings(workspace).output_folder_path / MASTER_PARQUET
    first = known_outcomes(client)
    assert first[0] != "0"
    # Garbage under the same identity: read again, it would fail; kept, the page is the same.
    same_identity(master, b"\0" * master.stat().st_size)
    assert known_outcomes(client) == first


def test_a_changed_master_dataset_shows_on_the_next_overview(
    client: TestClient, workspace: Path
) -> None:
    master = workspace_settings(workspace).output_folder_path / MASTER_PARQUET
    first = known_outcomes(client)
    # A new cycle rewrites the file: here without the rows that give the outcomes.
    frame = pd.read_parquet(master)
    frame.head(0).to_parquet(master.with_suffix(".new"))
    master.with_suffix(".new").replace(master)
    assert known_outcomes(client) == ("0", first[1])


def set_batches_status(workspace: Path, status: str) -> None:
    """Mark every batch (as ingestion does between renaming the master and finishing them)."""
    with Store(workspace_settings(workspace).database_url) as store, store.begin() as conn:
        conn.execute(sa.update(batches).values(status=status))


def test_a_batch_finishing_after_the_master_was_renamed_shows_on_the_next_overview(
    client: TestClient, workspace: Path
) -> None:
    first = known_outcomes(client)
    # A page read between the master's rename and the batches' finishing counts no outcome...
    set_batches_status(workspace, "pending")
    assert known_outcomes(client)[0] == "0"
    # ...and once they are finished, with the same files, the outcomes are back.
    set_batches_status(workspace, "ingested")
    assert known_outcomes(client) == first
