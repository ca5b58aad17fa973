"""The API through TestClient: every endpoint, every kind of bad input, paths, the token."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import numpy as np
import pandas as pd
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.checks import not_a_server_error

from riskwatch.api import create_app
from riskwatch.calllist.build import CALL_LIST, build_call_list, publish_call_list
from riskwatch.config import Settings
from riskwatch.ingestion.master import read_master
from riskwatch.model.pipeline import predict_risk
from riskwatch.model.registry import load_deployed, versions
from riskwatch.storage.store import Store, diagnostics, scores

from ..conftest import api_settings, copy_workspace, private_copy

ONE = {
    "corporation": "c1",
    "lastmonth_activity": 3,
    "lastyear_activity": 400,
    "number_of_employees": 12,
}
CSV = "corporation,lastmonth_activity,lastyear_activity,number_of_employees\n"


@pytest.fixture(scope="module")
def built(deployed_template: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace (2,000 clients) with a model deployed, shared by this module."""
    return private_copy(deployed_template(months=2, seed=5), tmp_path_factory, "api")


@pytest.fixture(scope="module")
def settings(built: Path) -> Settings:
    return api_settings(built)


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def predict(client: TestClient, body: Any, **kwargs: Any) -> Any:
    return client.post("/prediction", json=body, **kwargs)


# Health, readiness, version


def test_health_answers_while_nothing_is_deployed(tmp_path: Path) -> None:
    from riskwatch.demo.workspace import create_demo  # noqa: PLC0415

    create_demo(tmp_path / "ws", months=2, seed=1, clients=500)
    with TestClient(create_app(api_settings(tmp_path / "ws"))) as empty:
        assert empty.get("/health").json() == {"status": "ok"}
        ready = empty.get("/ready")
        assert ready.status_code == 503
        assert "no model is deployed" in ready.json()["detail"]
        assert empty.get("/version").json()["model_version"] is None
        assert predict(empty, {"clients": [ONE]}).status_code == 503


def test_ready_and_version_name_the_served_model(client: TestClient, settings: Settings) -> None:
    deployed, _ = load_deployed(settings.prod_deployment_path)
    assert client.get("/ready").json() == {
        "status": "ready",
        "version": deployed.version,
        "deployed_version": deployed.version,
        "warning": None,
    }
    version = client.get("/version").json()
    assert version["model_version"] == deployed.version
    assert version["riskwatch"]


# Predictions


def test_prediction_answers_each_client_with_risk_label_band_and_reasons(
    client: TestClient, settings: Settings
) -> None:
    clients = [ONE, {**ONE, "corporation": "c2", "lastmonth_activity": 40}]
    answer = predict(client, {"clients": clients})
    assert answer.status_code == 200
    body = answer.json()
    _, model = load_deployed(settings.prod_deployment_path)
    expected = predict_risk(model, pd.DataFrame(clients))
    assert body["version"] == load_deployed(settings.prod_deployment_path)[0].version
    assert [c["corporation"] for c in body["clients"]] == ["c1", "c2"]
    assert [c["position"] for c in body["clients"]] == [0, 1]
    got = np.array([c["probability"] for c in body["clients"]])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    for answered, risk in zip(body["clients"], expected, strict=True):
        assert answered["label"] == int(risk >= settings.decision_threshold)
        band = "high" if risk >= 0.5 else "medium" if risk >= 0.2 else "low"
        assert answered["risk_band"] == band
        assert answered["reasons"] and all(isinstance(r, str) for r in answered["reasons"])
    # c1's activity fell far below its pace: that is named as a reason.
    assert "below its monthly average" in body["clients"][0]["reasons"][0]
    assert answer.headers["server-timing"].startswith("app;dur=")


def test_prediction_needs_no_label_and_ignores_one(client: TestClient) -> None:
    with_label = predict(client, {"clients": [{**ONE, "exited": 1}]}).json()
    without = predict(client, {"clients": [ONE]}).json()
    assert with_label["clients"] == without["clients"]


def test_prediction_without_reasons_leaves_them_out(client: TestClient) -> None:
    body = predict(client, {"clients": [ONE]}, params={"reasons": False}).json()
    assert "reasons" not in body["clients"][0]


def test_prediction_reads_a_csv_body(client: TestClient) -> None:
    text = CSV + "c1,3,400,12\nc2,40,400,12\n"
    answer = client.post("/prediction", content=text, headers={"content-type": "text/csv"})
    assert answer.status_code == 200
    json_answer = predict(
        client, {"clients": [ONE, {**ONE, "corporation": "c2", "lastmonth_activity": 40}]}
    )
    assert answer.json()["clients"] == json_answer.json()["clients"]


@pytest.mark.parametrize("name", ["testdata.csv", "testdata/testdata.csv"])
def test_prediction_reads_a_classic_dataset_inside_the_workspace(
    client: TestClient, settings: Settings, name: str
) -> None:
    body = predict(client, {"dataset": name}, params={"reasons": False}).json()
    holdout = pd.read_csv(settings.test_data_path / "testdata.csv")
    assert body["dataset"] == name
    assert [c["corporation"] for c in body["clients"]] == holdout["corporation"].tolist()


def test_prediction_refuses_paths_out_of_the_data_folders(tmp_path: Path, built: Path) -> None:
    ws = copy_workspace(built, tmp_path)
    secret = tmp_path / "outside.csv"
    secret.write_text(CSV + "secret,1,2,3\n")
    (ws.path / "testdata" / "link.csv").symlink_to(secret)
    (ws.path / "testdata" / "up").symlink_to(tmp_path)
    refused = [
        "../riskwatch.toml",
        "../../outside.csv",
        str(secret),
        "/etc/passwd",
        "testdata/../riskwatch.db",
        "link.csv",
        "up/outside.csv",
        "riskwatch.db",
        "file\x00.csv",
    ]
    with TestClient(create_app(api_settings(ws.path))) as client:
        for name in refused:
            answer = predict(client, {"dataset": name})
            assert answer.status_code == 400, (name, answer.text)
            assert "refused" in answer.json()["detail"]
            assert "secret" not in answer.text
            assert str(ws.path) not in answer.text  # the server's layout stays its own
        missing = predict(client, {"dataset": "nothere.csv"})
        assert missing.status_code == 404
        assert "nothere.csv" in missing.json()["detail"]


BAD_BODIES = [
    ({"clients": [{**ONE, "lastmonth_activity": "many"}]}, 422, "clients[0].lastmonth_activity"),
    ({"clients": [ONE, {**ONE, "lastyear_activity": 1.5}]}, 422, "clients[1].lastyear_activity"),
    (
        {"clients": [ONE, ONE, {**ONE, "number_of_employees": -1}]},
        422,
        "clients[2].number_of_employees",
    ),
    (
        {"clients": [{k: v for k, v in ONE.items() if k != "corporation"}]},
        422,
        "clients[0].corporation",
    ),
    ({"clients": [{**ONE, "lastmonth_activity": True}]}, 422, "clients[0].lastmonth_activity"),
    ({"clients": [{**ONE, "corporation": ""}]}, 422, "clients[0].corporation"),
    ({"clients": []}, 422, "clients"),
    ({"clients": "everyone"}, 422, "clients"),
    ({}, 422, "send exactly one of 'clients', 'dataset' or 'filepath'"),
    (
        {"clients": [ONE], "dataset": "testdata.csv"},
        422,
        "exactly one of 'clients', 'dataset' or 'filepath' (the classic name of 'dataset'); "
        "this request sends clients and dataset",
    ),
    (
        {"dataset": "testdata.csv", "filepath": "testdata/testdata.csv"},
        422,
        "this request sends dataset and filepath",
    ),
    ({"client": [ONE]}, 422, "client: unknown field; did you mean 'clients'?"),
    ([ONE], 422, "body"),
]


@pytest.mark.parametrize(("body", "status", "named"), BAD_BODIES)
def test_prediction_bad_input_names_the_field_and_the_client(
    client: TestClient, body: Any, status: int, named: str
) -> None:
    answer = predict(client, body)
    assert answer.status_code == status, answer.text
    assert named in answer.json()["detail"]


def test_prediction_error_lists_each_problem_with_its_position(client: TestClient) -> None:
    bad = {"clients": [ONE, {**ONE, "lastmonth_activity": -5}, {**ONE, "lastyear_activity": "x"}]}
    errors = predict(client, bad).json()["errors"]
    assert [(e["field"], e["position"]) for e in errors] == [
        ("clients[1].lastmonth_activity", 1),
        ("clients[2].lastyear_activity", 2),
    ]


def test_prediction_refuses_a_misspelt_field_by_name_with_a_did_you_mean(
    client: TestClient,
) -> None:
    sent = {k: v for k, v in ONE.items() if k != "lastmonth_activity"}
    answer = predict(client, {"clients": [ONE, {**sent, "last_month_activity": 3}]})
    assert answer.status_code == 422
    body = answer.json()
    assert body["errors"][0] == {
        "field": "clients[1].last_month_activity",
        "position": 1,
        "message": "unknown field; did you mean 'lastmonth_activity'?",
    }
    assert body["detail"].startswith(
        "2 problem(s) in the request: clients[1].last_month_activity: unknown field; "
        "did you mean 'lastmonth_activity'?"
    )
    unlike = predict(client, {"clients": [{**ONE, "zzz": 1}]}).json()["errors"][0]["message"]
    assert unlike.startswith("unknown field; the fields are corporation, lastmonth_activity")


def test_prediction_accepts_the_classic_filepath_confined_as_dataset(
    client: TestClient, settings: Settings
) -> None:
    # The classic apicalls.py posts {"filepath": "testdata/testdata.csv"}.
    answer = predict(client, {"filepath": "testdata/testdata.csv"}, params={"reasons": False})
    assert answer.status_code == 200, answer.text
    holdout = pd.read_csv(settings.test_data_path / "testdata.csv")
    assert answer.json()["dataset"] == "testdata/testdata.csv"
    assert [c["corporation"] for c in answer.json()["clients"]] == holdout["corporation"].tolist()
    for name in ("../riskwatch.toml", "testdata/../riskwatch.db", "/etc/passwd"):
        refused = predict(client, {"filepath": name})
        assert refused.status_code == 400, (name, refused.text)
        assert refused.json()["detail"].startswith(f"filepath {name!r} is refused")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("post", "/prediction", {"content": b"{not json"}, 400),
        ("post", "/prediction", {"json": {"dataset": "nothere.csv"}}, 404),
        ("post", "/prediction", {"content": b"<x/>", "headers": {"content-type": "text/xml"}}, 415),
        ("get", "/no-such-endpoint", {}, 404),
        ("delete", "/prediction", {}, 405),
        ("get", "/calllist", {"params": {"top": 0}}, 422),
    ],
)
def test_every_error_answer_has_detail_and_errors(
    client: TestClient, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    answer = client.request(method, path, **kwargs)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list) and body["errors"]
    assert all(error["message"] for error in body["errors"])


@pytest.mark.parametrize(
    ("content", "kind", "status", "named"),
    [
        (b"{not json", "application/json", 400, "not valid JSON"),
        (b"", "application/json", 400, "not valid JSON"),
        (b"\xff\xfe\x00", "application/json", 400, "not valid JSON"),
        (b"<clients/>", "application/xml", 415, "application/xml"),
        ((CSV + "c1,3,400,12\nc2,-1,400,12\n").encode(), "text/csv", 422, "line 3"),
        (b"corporation,lastmonth_activity\nc1,3\n", "text/csv", 422, "number_of_employees"),
        (CSV.encode(), "text/csv", 422, "no rows"),
        (b"\x00\x01\x02binary", "text/csv", 422, "CSV body"),
    ],
)
def test_prediction_refuses_bad_bodies_with_a_clear_message(
    client: TestClient, content: bytes, kind: str, status: int, named: str
) -> None:
    answer = client.post("/prediction", content=content, headers={"content-type": kind})
    assert answer.status_code == status, answer.text
    assert named in answer.json()["detail"]


def test_prediction_refuses_more_clients_than_the_limit(built: Path) -> None:
    with TestClient(create_app(api_settings(built, api_max_clients=2))) as client:
        assert predict(client, {"clients": [ONE, ONE]}).status_code == 200
        answer = predict(client, {"clients": [ONE, ONE, ONE]})
        assert answer.status_code == 413
        assert "api_max_clients" in answer.json()["detail"]
        too_many_rows = predict(client, {"dataset": "testdata.csv"})
        assert too_many_rows.status_code == 413


def test_prediction_refuses_a_body_over_the_size_limit(built: Path) -> None:
    with TestClient(create_app(api_settings(built, api_max_body_bytes=1024))) as client:
        body = json.dumps({"clients": [ONE] * 30}).encode()
        assert len(body) > 1024
        answer = client.post(
            "/prediction", content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 413
        assert "api_max_body_bytes" in answer.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
            yield from (body[i : i + 100] for i in range(0, len(body), 100))

        streamed = client.post(
            "/prediction", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.status_code == 413


# The classic metrics


def test_scoring_gives_the_deployed_models_metrics_f1_first(
    client: TestClient, settings: Settings
) -> None:
    body = client.get("/scoring").json()
    deployed, _ = load_deployed(settings.prod_deployment_path)
    assert body["version"] == deployed.version
    assert next(iter(body["metrics"])) == "f1"
    assert body["f1"] == body["metrics"]["f1"]["value"]
    assert body["rows"] == 2000


def test_scoring_refresh_scores_and_records_then_serves_the_record(
    client: TestClient, settings: Settings
) -> None:
    with Store(settings.database_url) as store:
        before = len(store.rows(scores))
        refreshed = client.get("/scoring", params={"refresh": True}).json()
        assert len(store.rows(scores)) == before + 1
    assert refreshed["source"] == "computed"
    again = client.get("/scoring").json()
    assert again["source"] == "recorded"
    assert again["metrics"] == refreshed["metrics"]
    assert next(iter(again["metrics"])) == "f1"


def test_summarystats_match_the_master_data_and_refresh_records_anew(
    client: TestClient, settings: Settings
) -> None:
    first = client.get("/summarystats").json()
    master = read_master(settings.output_folder_path)
    stats = first["result"]["lastmonth_activity"]
    assert stats["count"] == len(master)
    assert stats["mean"] == pytest.approx(master["lastmonth_activity"].mean())
    assert client.get("/summarystats").json()["id"] == first["id"]  # recorded, not recomputed
    refreshed = client.get("/summarystats", params={"refresh": "true"}).json()
    assert refreshed["source"] == "computed"
    assert refreshed["id"] > first["id"]


def test_diagnostics_never_train_or_deploy(client: TestClient, settings: Settings) -> None:
    models_before = versions(settings.output_model_path)
    deployed_before = load_deployed(settings.prod_deployment_path)[0]
    body = client.get("/diagnostics", params={"refresh": True}).json()
    assert body["source"] == "computed"
    assert body["parts"]["predictions"]["result"]["deployed"] is True
    assert body["parts"]["summary_statistics"]["result"]["exited"]["count"] > 0
    assert body["parts"]["timings"] is None  # only `riskwatch diagnose` times a training
    assert versions(settings.output_model_path) == models_before
    assert load_deployed(settings.prod_deployment_path)[0] == deployed_before
    with Store(settings.database_url) as store:
        kinds = {row["kind"] for row in store.rows(diagnostics)}
    assert "timings" not in kinds
    assert client.get("/diagnostics").json()["source"] == "recorded"


def test_calllist_ranks_the_top_clients_without_rewriting_the_file(
    client: TestClient, settings: Settings
) -> None:
    with Store(settings.database_url) as store:  # the managers' list, as published
        published = publish_call_list(settings, store, build_call_list(settings, store))
    assert published.published is not None
    path = settings.reports_path / CALL_LIST
    written = path.read_bytes()
    answer = client.get("/calllist", params={"top": 5})
    body = answer.json()
    assert [row["rank"] for row in body["top"]] == [1, 2, 3, 4, 5]
    risks = [row["probability"] for row in body["top"]]
    assert risks == sorted(risks, reverse=True)
    assert all(row["change"] == "unchanged" for row in body["top"])
    assert body["compared_with"] == published.published.to_dict()
    assert body["published"] is None
    assert path.read_bytes() == written
    assert client.get("/calllist", params={"top": 0}).status_code == 422


def test_calllist_reasons_are_a_list_as_in_predictions_and_no_server_path_is_given(
    client: TestClient, settings: Settings
) -> None:
    answer = client.get("/calllist", params={"top": 3})
    listed = answer.json()["top"]
    assert all(isinstance(row["reasons"], list) and row["reasons"] for row in listed)
    master = read_master(settings.output_folder_path)
    first = master[master["corporation"] == listed[0]["corporation"]].iloc[[-1]]
    records = first.drop(columns=[c for c in first.columns if c not in ONE]).to_dict("records")
    predicted = predict(client, {"clients": records}).json()["clients"][0]
    assert predicted["reasons"] == listed[0]["reasons"]
    assert "path" not in answer.json()
    assert str(settings.workspace) not in answer.text


# The token


def test_token_is_required_everywhere_but_health(
    built: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token = "s3cret-token-for-tests"
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(api_settings(built, api_token=token))) as client:
        assert client.get("/health").status_code == 200
        for method, path in [
            ("GET", "/ready"),
            ("GET", "/version"),
            ("GET", "/scoring"),
            ("GET", "/summarystats"),
            ("GET", "/diagnostics"),
            ("GET", "/calllist"),
            ("POST", "/prediction"),
        ]:
            missing = client.request(method, path, json={"clients": [ONE]})
            assert missing.status_code == 401, path
            assert missing.headers["www-authenticate"] == "Bearer"
            assert missing.json()["errors"][0]["message"].startswith("a valid bearer token")
            wrong = client.request(
                method,
                path,
                json={"clients": [ONE]},
                headers={"Authorization": "Bearer s3cret-token-for-test"},
            )
            assert wrong.status_code == 401, path
        good = {"Authorization": f"Bearer {token}"}
        assert client.get("/ready", headers=good).status_code == 200
        assert predict(client, {"clients": [ONE]}, headers=good).status_code == 200
    assert token not in caplog.text
    assert token not in repr(api_settings(built, api_token=token))


# The schema and the docs


def test_docs_load_swagger_ui_from_the_server_itself(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    # Every URL the page loads is a path on this server: /docs works offline.
    assert re.findall(r"https?://", page.text) == []
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assets += re.findall(r"url: *'([^']+)'", page.text)
    assert {"/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css"} <= set(
        assets
    ) and "/openapi.json" in assets
    for asset in assets:
        assert asset.startswith("/"), asset
        assert client.get(asset).status_code == 200, asset
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN


def test_openapi_documents_both_body_kinds(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/prediction"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "text/csv"}
    assert "Client" in schema["components"]["schemas"]


def test_no_request_the_schema_allows_causes_a_server_error(built: Path) -> None:
    # Hypothesis drives schemathesis' generated cases directly: its pytest plugin does not
    # work with this pytest (it renames test nodes through a private attribute).
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(api_settings(built)))
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # Bodies are where input goes wrong; the GETs have a flag or two (and some recompute).
        examples = 60 if operation.method.upper() == "POST" else 8

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def no_server_error(case: Any) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        no_server_error()
        checked.append(operation.label)
    assert "POST /prediction" in checked
    assert len(checked) == 10  # with POST and GET /contacts


def deploy_another_version(settings: Settings) -> str:
    """Train a new version on the workspace and deploy it, as `riskwatch train` + `deploy` do."""
    from riskwatch.deployment import deploy  # noqa: PLC0415
    from riskwatch.training import train_version  # noqa: PLC0415

    with Store(settings.database_url) as store:
        version = train_version(settings, store).version
        deploy(settings, store, version)
    return version


def test_a_deployment_that_cannot_be_loaded_leaves_the_last_good_model_answering(
    tmp_path: Path, built: Path
) -> None:
    from riskwatch.model.registry import MODEL_FILE  # noqa: PLC0415

    ws = copy_workspace(built, tmp_path)
    settings = api_settings(ws.path)
    first = load_deployed(settings.prod_deployment_path)[0].version
    with TestClient(create_app(settings)) as client:
        assert predict(client, {"clients": [ONE]}).json()["version"] == first
        second = deploy_another_version(settings)
        model = settings.prod_deployment_path / MODEL_FILE
        good = model.read_bytes()
        model.write_bytes(good[:-1] + b"x")  # its checksum no longer matches
        for _ in range(2):  # the bad target is not retried on every request
            answer = predict(client, {"clients": [ONE]})
            assert answer.status_code == 200
            assert answer.json()["version"] == first
        ready = client.get("/ready")
        assert ready.status_code == 200  # the last good model answers
        assert ready.json()["version"] == first
        assert ready.json()["deployed_version"] == second
        warning = ready.json()["warning"]
        assert f"the deployed model {second} cannot be loaded" in warning
        assert "sha256" in warning and "next try in" in warning
        # Fixed in place: served after the backoff (1 s after the first failure), no restart.
        model.write_bytes(good)
        deadline = time.monotonic() + 10
        while predict(client, {"clients": [ONE]}).json()["version"] != second:
            assert time.monotonic() < deadline, "the fixed deployment was never served"
            time.sleep(0.2)
        assert client.get("/ready").json()["warning"] is None


def test_diagnostics_report_the_served_models_predictions_after_a_deployment(
    tmp_path: Path, built: Path
) -> None:
    ws = copy_workspace(built, tmp_path)
    settings = api_settings(ws.path)
    first = load_deployed(settings.prod_deployment_path)[0].version
    with TestClient(create_app(settings)) as client:
        before = client.get("/diagnostics").json()
        assert before["version"] == first
        assert before["parts"]["predictions"]["version"] == first
        second = deploy_another_version(settings)
        after = client.get("/diagnostics").json()
    # The recorded predictions were the previous model's: computed anew for the served one.
    assert after["version"] == second
    assert after["source"] == "computed"
    assert after["parts"]["predictions"]["version"] == second
    assert "warning" not in after
