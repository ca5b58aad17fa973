"""Diagnostics: hand-checked statistics, a real package index (online, slow, refused), diagnose."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskwatch.config import Settings, load_settings
from riskwatch.deployment import deploy
from riskwatch.diagnostics.diagnosis import (
    KINDS,
    DiagnosticsError,
    batch_missing_shares,
    check_dependencies,
    diagnose,
    history,
    measure_timings,
    missing_shares,
    prediction_summary,
    predictions,
    summary_statistics,
)
from riskwatch.ingestion.ingest import ingest
from riskwatch.model.pipeline import ModelParams
from riskwatch.model.registry import PACKAGES, package_versions
from riskwatch.storage.files import sha256_file
from riskwatch.storage.store import Store
from riskwatch.training import train_model, train_version

from ..conftest import CLASSIC, csv_rows

AddFile = Callable[[str, str | bytes], Path]
MakeSettings = Callable[..., Settings]
TIMEOUT = 0.5


class IndexServer(ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1 that records the paths it was asked for."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.asked: list[str] = []
        self.release = threading.Event()  # set at teardown: the stalling handlers end

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/pypi"


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    @property
    def index(self) -> IndexServer:
        assert isinstance(self.server, IndexServer)
        return self.server


class FakeIndex(QuietHandler):
    """PyPI's JSON API in miniature: every package is at 99.0, except skops (404)."""

    def do_GET(self) -> None:
        self.index.asked.append(self.path)
        if self.path == "/pypi/skops/json":
            self.send_error(404)
            return
        body = json.dumps({"info": {"version": "99.0"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SilentIndex(QuietHandler):
    """Accepts the connection and the request, then never answers."""

    def do_GET(self) -> None:
        self.index.release.wait(30)


class TricklingIndex(QuietHandler):
    """Answers, then sends its body a byte at a time, never finishing within the timeout."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        with contextlib.suppress(OSError):  # the client hangs up when it gives up
            while not self.index.release.wait(0.02):
                self.wfile.write(b" ")


@pytest.fixture
def serve() -> Iterator[Callable[[type[BaseHTTPRequestHandler]], IndexServer]]:
    """Start real package-index servers in threads; stop them after the test."""
    started: list[tuple[IndexServer, threading.Thread]] = []

    def start(handler: type[BaseHTTPRequestHandler]) -> IndexServer:
        server = IndexServer(handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def practice(tmp_path: Path) -> pd.DataFrame:
    """The classic practice data as riskwatch ingests it (26 rows)."""
    shutil.copytree(CLASSIC, tmp_path / "classic")
    settings = load_settings(tmp_path / "classic" / "config.json", env={})
    ingest(settings)
    return pd.read_csv(settings.output_folder_path / "finaldata.csv")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def waiting_threads() -> list[threading.Thread]:
    """Threads the interpreter would wait for at exit."""
    return [t for t in threading.enumerate() if not t.daemon and t is not threading.main_thread()]


def by_name(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {row["name"]: row for row in rows}


def test_summary_statistics_match_hand_computed_values() -> None:
    frame = pd.DataFrame(
        {
            "corporation": ["a", "b", "c", "d", "e"],
            "lastmonth_activity": [1, 2, 3, 4, 10],
            "exited": [0, 1, 0, 1, 1],
            "batch_id": [7, 7, 7, 8, 8],
        }
    )
    stats = summary_statistics(frame)
    assert list(stats) == ["lastmonth_activity", "exited"]  # text and lineage left out
    # mean 4; squared deviations 9+4+1+0+36 = 50 over n-1 = 4; quartiles interpolated.
    assert stats["lastmonth_activity"] == {
        "count": 5.0,
        "mean": 4.0,
        "median": 3.0,
        "std": pytest.approx(math.sqrt(12.5)),
        "min": 1.0,
        "q25": 2.0,
        "q75": 4.0,
        "max": 10.0,
    }
    assert stats["exited"]["mean"] == 0.6


def test_summary_statistics_of_one_row_have_no_deviation() -> None:
    stats = summary_statistics(pd.DataFrame({"lastyear_activity": [12]}))
    assert stats["lastyear_activity"]["std"] is None
    assert stats["lastyear_activity"]["median"] == 12.0


def test_summary_statistics_reproduce_the_classic_figures(practice: pd.DataFrame) -> None:
    stats = summary_statistics(practice)
    shown = {c: [round(stats[c][s] or 0, 3) for s in ("mean", "median", "std")] for c in stats}
    assert shown["lastmonth_activity"] == [165.654, 73.0, 284.033]
    assert shown["lastyear_activity"] == [1502.923, 955.0, 2192.645]
    assert shown["number_of_employees"] == [26.885, 14.0, 31.354]


def test_missing_shares_count_missing_values_per_column() -> None:
    frame = pd.DataFrame(
        {
            "corporation": ["a", None, "c", "d"],
            "lastmonth_activity": [1.0, np.nan, np.nan, 4.0],
            "exited": [0, 1, 0, 1],
            "batch_id": [1, 1, 1, 1],
        }
    )
    assert missing_shares(frame) == {
        "corporation": 0.25,
        "lastmonth_activity": 0.5,
        "exited": 0.0,
    }
    assert missing_shares(frame.iloc[:0]) == dict.fromkeys(
        ["corporation", "lastmonth_activity", "exited"], 0.0
    )


def test_batch_missing_shares_come_from_the_ingested_batch(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file(
        "gaps.csv",
        csv_rows("x,1,12,3,0", "y,,24,4,1", "z,,,5,0", ",5,60,6,1", "v,2,30,,0"),
    )
    settings = make_settings()
    ingest(settings)
    with Store(settings.database_url) as store:
        record = store.batches(status="ingested")[-1]
    found = batch_missing_shares(record)
    assert (found["batch"], found["rows_read"]) == ("gaps.csv", 5)
    assert found["shares"] == {
        "corporation": 0.2,
        "lastmonth_activity": 0.4,
        "lastyear_activity": 0.2,
        "number_of_employees": 0.2,
        "exited": 0.0,
    }
    assert record.rows_quarantined == 4  # each row with a gap was quarantined


def test_predictions_label_clients_at_the_threshold(practice: pd.DataFrame) -> None:
    model = train_model(practice, ModelParams())
    predicted = predictions(model, practice, 0.5)
    assert list(predicted.columns) == ["corporation", "probability", "label"]
    assert predicted["corporation"].tolist() == practice["corporation"].tolist()
    assert (predicted["label"] == (predicted["probability"] >= 0.5)).all()
    assert predictions(model, practice, 0.0)["label"].eq(1).all()
    summary = prediction_summary(predicted)
    assert summary["rows"] == 26
    assert summary["share_leaving"] == predicted["label"].mean()
    assert list(summary["risk_quantiles"]) == ["q10", "q25", "q50", "q75", "q90"]
    assert prediction_summary(predicted.iloc[:0])["mean_risk"] is None


def test_dependency_check_reports_the_index_version_and_changes_since_training(
    make_settings: MakeSettings, serve: Callable[..., IndexServer]
) -> None:
    index = serve(FakeIndex)
    installed = package_versions()
    recorded = {"numpy": "1.0.0", "pandas": installed["pandas"]}
    rows = by_name(check_dependencies(make_settings(package_index_url=index.url), recorded))
    assert list(rows) == ["python", *PACKAGES]
    assert rows["scikit-learn"]["latest"] == "99.0"
    assert rows["scikit-learn"]["installed"] == installed["scikit-learn"]
    assert (rows["skops"]["latest"], rows["skops"]["reason"]) == ("unknown", "HTTP 404")
    assert rows["riskwatch"]["latest"] == "local"  # this project is never looked up
    assert sorted(index.asked) == sorted(f"/pypi/{n}/json" for n in PACKAGES if n != "riskwatch")
    assert (rows["numpy"]["recorded"], rows["numpy"]["changed_since_training"]) == ("1.0.0", True)
    assert rows["pandas"]["changed_since_training"] is False
    assert rows["scipy"]["changed_since_training"] is None  # not recorded with the model


@pytest.mark.parametrize("handler", [SilentIndex, TricklingIndex], ids=["silent", "trickling"])
def test_dependency_check_gives_up_on_a_slow_index_within_the_timeout(
    make_settings: MakeSettings,
    serve: Callable[..., IndexServer],
    handler: type[BaseHTTPRequestHandler],
) -> None:
    index = serve(handler)
    settings = make_settings(package_index_url=index.url, package_index_timeout=TIMEOUT)
    started = time.perf_counter()
    rows = check_dependencies(settings, None)
    elapsed = time.perf_counter() - started
    # All packages are asked at once: seven slow answers cost one timeout, not seven.
    assert elapsed < TIMEOUT * 3
    asked = [row for row in rows if row["name"] not in ("python", "riskwatch")]
    assert {(row["latest"], row["reason"]) for row in asked} == {
        ("unknown", f"timed out after {TIMEOUT} s")
    }
    # The askers give up by themselves too, so the process can exit: none is left waiting.
    while waiting_threads() and time.perf_counter() - started < TIMEOUT * 4:
        time.sleep(0.02)
    assert waiting_threads() == []


def test_dependency_check_says_unknown_when_the_index_refuses_connections(
    make_settings: MakeSettings,
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/pypi"
    rows = by_name(check_dependencies(make_settings(package_index_url=url), None))
    assert (rows["numpy"]["latest"], rows["numpy"]["reason"]) == ("unknown", "connection refused")
    assert rows["numpy"]["installed"] == package_versions()["numpy"]


def test_dependency_check_refuses_a_file_url(make_settings: MakeSettings, tmp_path: Path) -> None:
    (tmp_path / "numpy").mkdir()
    (tmp_path / "numpy" / "json").write_text('{"info": {"version": "99.0"}}')
    settings = make_settings(package_index_url=tmp_path.as_uri())
    rows = by_name(check_dependencies(settings, None))
    assert rows["numpy"]["latest"] == "unknown"
    assert "only http and https URLs are asked" in str(rows["numpy"]["reason"])


def test_diagnose_stores_every_part_and_history_reads_it_back(
    demo_settings: Settings, serve: Callable[..., IndexServer]
) -> None:
    settings = dataclasses.replace(demo_settings, package_index_url=serve(FakeIndex).url)
    master = settings.output_folder_path / "finaldata.parquet"
    with Store(settings.database_url) as store:
        version = train_version(settings, store).version
        deploy(settings, store, version)
        before = (sha256_file(master), len(store.batches()))
        diagnosis = diagnose(settings, store)
        assert (sha256_file(master), len(store.batches())) == before  # timed on a copy
        stored = {kind: history(store, kind) for kind in KINDS}
        diagnose(settings, store, timings=False, dependencies=False)
        assert len(history(store, "summary_statistics")) == 2
        assert len(history(store, "timings")) == 1
    for kind in KINDS:
        [row] = stored[kind]
        assert (row["version"], row["created_at"]) == (version, diagnosis.created_at)
        assert row["result"] == diagnosis.parts[kind]
    parts = diagnosis.to_dict()
    assert parts["predictions"]["rows"] == 2000
    assert 0 < parts["predictions"]["mean_risk"] < 1
    assert set(parts["summary_statistics"]) == {
        "lastmonth_activity",
        "lastyear_activity",
        "number_of_employees",
        "exited",
    }
    assert parts["missing_data"]["latest_batch"]["rows_read"] > 0
    rows = len(pd.read_parquet(master))
    assert parts["timings"]["ingestion"]["rows"] == parts["timings"]["training"]["rows"] == rows
    assert parts["timings"]["training"]["seconds"] > 0
    dependencies = by_name(parts["dependencies"])
    assert not any(row["changed_since_training"] for row in dependencies.values())
    assert dependencies["pandas"]["latest"] == "99.0"
    assert f"deployed model: {version}" in diagnosis.summary()


def test_diagnose_without_a_deployed_model_runs_the_other_parts(
    make_settings: MakeSettings, add_file: AddFile, serve: Callable[..., IndexServer]
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0", "y,2,24,4,1", "z,,36,5,0"))
    settings = make_settings(package_index_url=serve(FakeIndex).url)
    ingest(settings)
    with Store(settings.database_url) as store:
        diagnosis = diagnose(settings, store)
        assert [row["version"] for row in history(store, "predictions")] == [None]
    parts = diagnosis.parts
    assert parts["predictions"]["deployed"] is False
    assert "riskwatch deploy" in parts["predictions"]["reason"]
    assert parts["summary_statistics"]["lastyear_activity"]["mean"] == 18.0
    assert parts["missing_data"]["latest_batch"]["shares"]["lastmonth_activity"] == 1 / 3
    # Two rows cannot train a model: the timing says why instead of failing the diagnosis.
    assert parts["timings"]["training"]["seconds"] is None
    assert "at least 10 are needed" in parts["timings"]["training"]["reason"]
    assert by_name(parts["dependencies"])["numpy"]["recorded"] is None
    assert "Predictions: no model is deployed" in diagnosis.summary()


def test_diagnose_and_timings_refuse_an_empty_master_dataset(make_settings: MakeSettings) -> None:
    settings = make_settings()
    with (
        Store(settings.database_url) as store,
        pytest.raises(DiagnosticsError, match="run `riskwatch ingest` first"),
    ):
        diagnose(settings, store)
    with pytest.raises(DiagnosticsError, match="run `riskwatch ingest` first"):
        measure_timings(settings)


def test_history_refuses_an_unknown_kind(make_settings: MakeSettings) -> None:
    with (
        Store(make_settings().database_url) as store,
        pytest.raises(DiagnosticsError, match=r"no diagnostic called 'drfit'; they are: .*drift"),
    ):
        history(store, "drfit")
