"""Timing one ingestion and one training on a copy of the workspace's data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from riskwatch.config import Settings
from riskwatch.diagnostics.timings import measure_timings, timings_text
from riskwatch.ingestion.ingest import ingest
from riskwatch.storage.files import sha256_file
from riskwatch.storage.store import Store

from ..conftest import csv_rows

AddFile = Callable[[str, str | bytes], Path]
MakeSettings = Callable[..., Settings]


def test_timings_ingest_a_copy_and_say_why_training_could_not_run(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0", "y,2,24,4,1", "z,3,36,5,0"))
    settings = make_settings()
    ingest(settings)
    master = next(settings.output_folder_path.glob("finaldata.*"))
    before = sha256_file(master)

    found = measure_timings(settings)

    assert sha256_file(master) == before
    with Store(settings.database_url) as store:
        assert len(store.batches()) == 1  # the timed ingestion went to a throwaway database
    assert found["ingestion"]["rows"] == 3
    assert found["ingestion"]["seconds"] >= 0
    assert found["training"]["seconds"] is None
    assert "at least 10 are needed" in found["training"]["reason"]
    line = timings_text(found | {"deployed_model_training": None})[0]
    assert line.startswith("Timings: ingestion ")
    assert "training n/a s on 3 rows: " in line
