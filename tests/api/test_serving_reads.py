"""The API reads its model once: no request reads the deployment's files or asks the package index
unless asked to, and inline clients get the answers a frame of them gets."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from fastapi.testclient import TestClient

from riskwatch.api import create_app
from riskwatch.api.served import ModelHolder
from riskwatch.config import Settings
from riskwatch.ingestion.master import read_master
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.reasons import reasons
from riskwatch.model.registry import load_deployed, read_metadata

from ..conftest import api_settings, copy_workspace

COLUMNS = ["corporation", "lastmonth_activity", "lastyear_activity", "number_of_employees"]
ENDPOINTS = [
    ("GET", "/version", None),
    ("GET", "/ready", None),
    ("GET", "/scoring", None),
    ("GET", "/summarystats", None),
    ("GET", "/diagnostics", None),
    ("GET", "/calllist?top=20", None),
    ("POST", "/prediction", "clients"),
    ("POST", "/prediction?reasons=false", "clients"),
    ("POST", "/prediction", "dataset"),
]


@pytest.fixture(scope="module")
def built(deployed_template: Callable[..., Path]) -> Path:
    """A demo workspace (2,000 clients) with a model deployed, shared by the API tests (read
    only: each test copies it)."""
    return deployed_template(months=2, seed=5)


def some_clients(settings: Settings, count: int) -> list[dict[str, Any]]:
    """The latest records of some clients, as a request sends them."""
    records = read_master(settings.output_folder_path, columns=COLUMNS).tail(count)
    found: list[dict[str, Any]] = records.to_dict("records")
    return found


def ask(client: TestClient, method: str, path: str, body: str | None, sent: Any) -> Any:
    """One endpoint's answer (status 200 required), without the parts that change each time."""
    if body == "clients":
        answer = client.post(path, json={"clients": sent})
    elif body == "dataset":
        answer = client.post(path, json={"dataset": "testdata.csv"})
    else:
        answer = client.request(method, path)
    assert answer.status_code == 200, (path, answer.text)
    return answer.json()


def move_files(folder: Path, aside: Path) -> list[str]:
    """Move every file of a folder elsewhere (the folder stays); their names."""
    aside.mkdir(parents=True)
    moved = []
    for path in folder.iterdir():
        if path.is_file():
            shutil.move(path, aside / path.name)
            moved.append(path.name)
    return moved


def test_every_endpoint_answers_after_the_deployments_files_are_moved_away(
    tmp_path: Path, built: Path
) -> None:
    ws = copy_workspace(built, tmp_path)
    settings = api_settings(ws.path)
    deployed = load_deployed(settings.prod_deployment_path)[0]
    version_folder = settings.output_model_path / deployed.version
    sent = some_clients(settings, 50)
    with TestClient(create_app(settings)) as client:
        for endpoint in ENDPOINTS:  # the first requests: what they compute is recorded
            ask(client, *endpoint, sent)
        first = [ask(client, *endpoint, sent) for endpoint in ENDPOINTS]
        assert all(answer.get("source") != "computed" for answer in first)
        target = os.path.realpath(settings.prod_deployment_path)
        assert "model.skops" in move_files(Path(target), tmp_path / "aside" / "deployment")
        assert "model.skops" in move_files(version_folder, tmp_path / "aside" / "version")
        assert os.path.realpath(settings.prod_deployment_path) == target  # production unchanged
        for _ in range(3):
            again = [ask(client, *endpoint, sent) for endpoint in ENDPOINTS]
            assert again == first


def test_inline_clients_get_the_pipelines_probabilities_and_the_call_lists_reasons(
    tmp_path: Path, built: Path
) -> None:
    ws = copy_workspace(built, tmp_path)
    settings = api_settings(ws.path)
    deployed, model = load_deployed(settings.prod_deployment_path)
    reference = read_metadata(settings.output_model_path, deployed.version)["reference"]
    with TestClient(create_app(settings)) as client:
        for count in (1, 40, 2000):
            sent = some_clients(settings, count)
            answers = client.post("/prediction", json={"clients": sent}).json()["clients"]
            frame = read_master(settings.output_folder_path, columns=COLUMNS).tail(count)
            risk = predict_risk(model, frame)
            assert [a["probability"] for a in answers] == np.round(risk, 6).tolist()
            assert [a["reasons"] for a in answers] == reasons(model, frame, reference)
            csv = frame.to_csv(index=False)
            headers = {"Content-Type": "text/csv"}
            from_csv = client.post("/prediction", content=csv, headers=headers).json()
            assert from_csv["clients"] == answers


class CountingIndex(BaseHTTPRequestHandler):
    """A package index that counts the requests it gets and knows no package."""

    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        CountingIndex.asked.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def index() -> Iterator[str]:
    """A local package index in a thread; its URL."""
    CountingIndex.asked = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), CountingIndex)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/pypi"
    finally:
        server.shutdown()
        server.server_close()


def test_diagnostics_ask_the_package_index_only_when_refreshed(
    tmp_path: Path, built: Path, index: str
) -> None:
    ws = copy_workspace(built, tmp_path)
    settings = replace(api_settings(ws.path), package_index_url=index, package_index_timeout=5.0)
    with TestClient(create_app(settings)) as client:
        computed = client.get("/diagnostics").json()
        assert computed["source"] == "computed"  # no predictions were recorded for this model
        assert client.get("/diagnostics").json()["source"] == "recorded"
        assert CountingIndex.asked == []
        refreshed = client.get("/diagnostics", params={"refresh": "true"}).json()
    assert refreshed["source"] == "computed"
    assert CountingIndex.asked  # asked, and each package found unknown
    checked = {row["name"]: row for row in refreshed["parts"]["dependencies"]["result"]}
    assert checked["numpy"]["latest"] == "unknown"
    assert json.dumps(refreshed)  # a JSON answer throughout


def test_a_plain_production_folder_is_served_and_a_link_put_back_in_its_place_is_followed(
    tmp_path: Path, built: Path
) -> None:
    # A request reads production's link (one system call); a plain folder, another tool's
    # layout, has no link to read and is resolved instead.
    ws = copy_workspace(built, tmp_path)
    settings = api_settings(ws.path)
    prod = settings.prod_deployment_path
    link = prod.readlink()
    target = Path(os.path.realpath(prod))
    sent = some_clients(settings, 5)
    with TestClient(create_app(settings)) as client:
        served = ask(client, "POST", "/prediction", "clients", sent)
        prod.unlink()
        shutil.copytree(target, prod)
        shutil.rmtree(target)  # the old link's folder is gone: only the copy can answer
        assert ask(client, "POST", "/prediction", "clients", sent) == served
        shutil.copytree(prod, target)
        shutil.rmtree(prod)
        prod.symlink_to(link)
        assert ask(client, "POST", "/prediction", "clients", sent) == served
        assert client.get("/ready").json()["status"] == "ready"


def test_without_a_token_set_no_request_needs_one_and_the_schema_asks_for_none(
    tmp_path: Path, built: Path
) -> None:
    ws = copy_workspace(built, tmp_path)
    open_settings = api_settings(ws.path)
    with TestClient(create_app(open_settings)) as client:
        assert ask(client, "POST", "/prediction", "clients", some_clients(open_settings, 2))
        assert "securitySchemes" not in client.get("/openapi.json").json().get("components", {})
    guarded = replace(open_settings, api_token="s3cret")
    with TestClient(create_app(guarded)) as client:
        assert client.post("/prediction", json={"clients": []}).status_code == 401
        schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
        assert schemes["HTTPBearer"]["type"] == "http"


def test_production_reached_through_a_switched_parent_link_is_seen_as_another_deployment(
    tmp_path: Path,
) -> None:
    # Two releases with the same relative link text; the workspace is reached through a link
    # switched from one to the other (a blue/green layout): production changed all the same.
    for release in ("blue", "green"):
        (tmp_path / release / "deployments" / "v1").mkdir(parents=True)
        (tmp_path / release / "production").symlink_to("deployments/v1")
    current = tmp_path / "current"
    current.symlink_to("blue")
    holder = ModelHolder(current / "production")
    blue = holder.pointer()
    assert holder.pointer() == blue  # nothing changed: the same answer
    switched = tmp_path / "current.next"
    switched.symlink_to("green")
    switched.replace(current)
    assert holder.pointer() != blue
    plain = ModelHolder(tmp_path / "green" / "deployments" / "v1")  # a plain folder
    assert plain.pointer() == plain.pointer() != holder.pointer()
    assert ModelHolder(tmp_path / "missing").pointer() == str(tmp_path / "missing")
