"""GET /metrics: Prometheus' text with the requests, the model, the last cycle and drift, summed
over the worker processes of a real `riskwatch serve --workers 2`."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from riskwatch.api import create_app
from riskwatch.model.registry import read_deployment
from riskwatch.reporting.gather import DRIFT_KIND
from riskwatch.storage.store import Store, cycles, diagnostics

from ..conftest import api_settings, copy_workspace, free_port, private_copy
from ..webapp.pages_fixtures import wait_until_up
from .test_server import ONE, serving

TOKEN = "metrics-test-token-0123456789"


@pytest.fixture(scope="module")
def cycled(cycled_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The web app tests' cycled demo: cycles run, drift recorded, a version deployed."""
    return private_copy(cycled_template, tmp_path_factory, "metrics")


@pytest.fixture(scope="module")
def client(cycled: Path) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings(cycled))) as found:
        yield found


def samples(text: str) -> list[Sample]:
    """Every sample of a Prometheus text exposition, parsed as Prometheus parses it."""
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(found: list[Sample], name: str, **labels: str) -> float:
    """The sum of the samples of that name whose labels include the given ones."""
    return sum(
        sample.value
        for sample in found
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def test_metrics_name_the_served_model_the_last_cycle_and_drift_as_recorded(
    client: TestClient, cycled: Path
) -> None:
    settings = api_settings(cycled)
    found = samples(client.get("/metrics").text)
    deployed = read_deployment(settings.prod_deployment_path)
    assert deployed is not None
    info = [s for s in found if s.name == "riskwatch_model_info"]
    assert [(s.labels, s.value) for s in info] == [({"version": deployed.version}, 1.0)]
    with Store(settings.database_url) as store:
        last = next(row for row in store.rows(cycles, newest_first=True) if row["finished_at"])
        drift = store.rows(diagnostics, newest_first=True, limit=1, kind=DRIFT_KIND)[0]
    outcome = [s for s in found if s.name == "riskwatch_last_cycle_outcome"]
    assert [(s.labels, s.value) for s in outcome] == [
        ({"outcome": last["outcome"], "trigger": last["trigger"]}, 1.0)
    ]
    ended = value(found, "riskwatch_last_cycle_timestamp_seconds")
    assert ended == pytest.approx(_unix(last["finished_at"]))
    features = drift["result"]["features"]
    assert len(features) == 3
    for feature in features:
        name = feature["feature"]
        detected = value(found, "riskwatch_drift_detected", feature=name)
        assert detected == (1.0 if feature["drifted"] else 0.0)
        if not feature.get("judged", True):  # too few rows: no statistic, no PSI to export
            shown = {s.name for s in found if s.labels.get("feature") == name}
            assert shown == {"riskwatch_drift_detected"}
            continue
        assert value(found, "riskwatch_drift_psi", feature=name) == pytest.approx(feature["psi"])
        assert value(
            found, "riskwatch_drift_statistic", feature=name, test=feature["test"]
        ) == pytest.approx(feature["statistic"])
    # The newest check is the demo's last drop, one good row: too few to judge (it used to read
    # as drifted with a PSI of about 8).
    assert [feature["judged"] for feature in features] == [False] * 3
    assert not any(feature["drifted"] for feature in features)


def test_requests_are_counted_by_route_template_method_and_status(client: TestClient) -> None:
    before = samples(client.get("/metrics").text)
    client.get("/app/models/one")
    client.get("/app/models/another")
    client.get("/no/such/page/123")
    answer = client.post("/prediction", json={"clients": [ONE, ONE | {"corporation": "c2"}]})
    assert answer.status_code == 200
    after = samples(client.get("/metrics").text)

    def added(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    total = "riskwatch_http_requests_total"
    assert added(total, endpoint="/app/models/{kind}", method="GET") == 2
    assert added(total, endpoint="unmatched", method="GET", status="404") == 1
    assert added(total, endpoint="/prediction", method="POST", status="200") == 1
    assert added(total, endpoint="/metrics", method="GET", status="200") == 1
    endpoints = {s.labels.get("endpoint") for s in after if s.name == total}
    assert not any("one" in e or "123" in e for e in endpoints if e)  # no raw paths
    duration = "riskwatch_http_request_duration_seconds_count"
    assert added(duration, endpoint="/prediction", method="POST", status="200") == 1
    risks = [client["probability"] for client in answer.json()["clients"]]
    assert added("riskwatch_predicted_risk_count") == 2
    assert added("riskwatch_predicted_risk_sum") == pytest.approx(sum(risks), abs=1e-5)
    for bound in ("0.1", "0.5", "0.9", "+Inf"):
        below = sum(risk <= float(bound) for risk in risks)
        assert added("riskwatch_predicted_risk_bucket", le=bound) == below


def test_the_token_guards_metrics_when_one_is_set(cycled: Path) -> None:
    with TestClient(create_app(api_settings(cycled, api_token=TOKEN))) as guarded:
        refused = guarded.get("/metrics")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        allowed = guarded.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert allowed.status_code == 200
    assert allowed.headers["content-type"].startswith("text/plain")
    assert samples(allowed.text)


def test_two_workers_count_every_request_and_a_killed_worker_leaves_no_gauge(
    cycled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = copy_workspace(cycled, tmp_path)
    config, port = ws.path / "riskwatch.toml", free_port()
    url = f"http://127.0.0.1:{port}"
    folder = tmp_path / "prometheus"  # the operator's folder: emptied of old counts at start
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"an earlier run's counts")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))  # `serving` passes it on
    with serving(config, port, "--workers", "2") as server:
        wait_until_up(url, server, config.parent / "serve.log")
        assert not (folder / "counter_999999.db").exists()
        pids = _wait_for_workers(url, 2, set())
        with httpx2.Client(base_url=url, timeout=60) as http:
            for _ in range(40):  # a new connection each time: both workers answer some
                assert http.get("/version", headers={"connection": "close"}).status_code == 200
        found = samples(httpx2.get(f"{url}/metrics", timeout=60).text)
        counted = "riskwatch_http_requests_total"
        assert value(found, counted, endpoint="/version", method="GET", status="200") == 40
        assert {f"counter_{pid}.db" for pid in pids} <= {p.name for p in folder.iterdir()}
        killed = min(pids)
        os.kill(killed, signal.SIGKILL)
        replaced = _wait_for_workers(url, 2, {killed})
        assert killed not in replaced
        found = samples(httpx2.get(f"{url}/metrics", timeout=60).text)
        # The dead worker's counts stay in the sum; its live gauge is gone, file and all.
        assert value(found, counted, endpoint="/version", method="GET", status="200") == 40
        assert str(killed) not in {s.labels.get("pid") for s in found}
        assert not (folder / f"gauge_liveall_{killed}.db").exists()
        assert (folder / f"counter_{killed}.db").exists()


def _wait_for_workers(url: str, count: int, dead: set[int], seconds: float = 180) -> set[int]:
    """The pids of the live workers the metrics show, once there are count of them and none
    of the dead ones."""
    deadline = time.monotonic() + seconds
    while True:
        found = samples(httpx2.get(f"{url}/metrics", timeout=60).text)
        pids = {
            int(s.labels["pid"]) for s in found if s.name == "riskwatch_worker_start_time_seconds"
        }
        if len(pids) == count and not pids & dead:
            return pids
        assert time.monotonic() < deadline, f"workers seen: {sorted(pids)}"
        time.sleep(0.2)


def _unix(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def test_a_few_risks_and_many_fill_the_risk_histogram_alike() -> None:
    # A request of a few clients observes each risk; a large one counts them per bucket: the
    # same buckets either way, the bounds themselves included.
    from prometheus_client.registry import Collector  # noqa: PLC0415

    from riskwatch.api.telemetry import FEW_RISKS, Telemetry  # noqa: PLC0415

    class NoRecords(Collector):
        def collect(self) -> Iterator[object]:  # type: ignore[override]
            return iter(())

    risks = [0.0, 0.1, 0.1000001, 0.35, 0.5, 0.9999, 1.0] * 5
    few, many = Telemetry(NoRecords()), Telemetry(NoRecords())
    for start in range(0, len(risks), FEW_RISKS):
        few.observe_risks(risks[start : start + FEW_RISKS])
    many.observe_risks(risks)
    assert len(risks) > FEW_RISKS

    def histogram(telemetry: Telemetry) -> list[tuple[str, dict[str, str], float]]:
        found = samples(telemetry.exposition().decode())
        counted = ("riskwatch_predicted_risk_bucket", "riskwatch_predicted_risk_sum")
        return [(s.name, s.labels, round(s.value, 9)) for s in found if s.name in counted]

    assert histogram(few) == histogram(many)
    bucket = {labels["le"]: count for _, labels, count in histogram(many) if labels}
    assert (bucket["0.1"], bucket["0.4"], bucket["1.0"]) == (10, 20, 35)
