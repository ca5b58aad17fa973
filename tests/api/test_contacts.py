"""POST /contacts and GET /contacts through TestClient, and the last contact on /calllist."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from riskwatch.api import create_app
from riskwatch.calllist.build import build_call_list, publish_call_list
from riskwatch.config import Settings
from riskwatch.ingestion.master import read_master
from riskwatch.model.registry import load_deployed
from riskwatch.storage.store import Store, call_list_items

from ..conftest import api_settings, copy_workspace


@pytest.fixture(scope="module")
def built(deployed_template: Callable[..., Path]) -> Path:
    """A demo workspace (2,000 clients) with a model deployed, shared read only (copied)."""
    return deployed_template(months=2, seed=5)


@pytest.fixture
def settings(built: Path, tmp_path: Path) -> Settings:
    """A copy of the workspace with a call list of 10 published; this test may record calls."""
    found = api_settings(copy_workspace(built, tmp_path).path)
    with Store(found.database_url) as store:
        publish_call_list(found, store, build_call_list(found, store, 10))
    return found


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def listed(settings: Settings) -> list[str]:
    """The clients of the published list, by rank."""
    with Store(settings.database_url) as store:
        return build_call_list(settings, store, 10).frame["corporation"].tolist()


def test_one_contact_is_recorded_with_the_list_it_came_from(
    client: TestClient, settings: Settings
) -> None:
    third = listed(settings)[2]
    answer = client.post(
        "/contacts",
        json={"corporation": third, "contacted_at": "2099-01-01", "outcome": "saved"},
    )
    assert answer.status_code == 422  # the future
    now = client.post(
        "/contacts",
        json={
            "corporation": third,
            "contacted_at": _now(),
            "outcome": "saved",
            "note": "renewed for a year",
            "manager": "Ann",
        },
    )
    assert now.status_code == 201, now.text
    body = now.json()
    assert (body["recorded"], body["already_recorded"]) == (1, 0)
    contact = body["contacts"][0]
    assert (contact["corporation"], contact["outcome"], contact["source"]) == (
        third,
        "saved",
        "api",
    )
    assert contact["list"]["rank"] == 3
    assert contact["list"]["version"] == load_deployed(settings.prod_deployment_path)[0].version


def test_several_contacts_are_recorded_once_however_often_they_are_sent(
    client: TestClient, settings: Settings
) -> None:
    clients = listed(settings)[:3]
    calls = {"contacts": [_call(c, "2026-01-05") for c in clients]}
    first = client.post("/contacts", json=calls).json()
    again = client.post("/contacts", json=calls).json()
    assert (first["recorded"], first["already_recorded"]) == (3, 0)
    assert (again["recorded"], again["already_recorded"]) == (0, 3)
    everything = client.get("/contacts").json()
    assert everything["total"] == 3
    one = client.get("/contacts", params={"client": clients[1], "limit": 5}).json()
    assert [c["corporation"] for c in one["contacts"]] == [clients[1]]


def test_bad_contacts_are_each_named_by_position_and_nothing_is_recorded(
    client: TestClient, settings: Settings
) -> None:
    first = listed(settings)[0]
    calls = [
        _call(first, "2026-01-05"),
        _call("nobody", "2026-01-05"),
        _call(first, "5 January", "reached"),
        _call(first, "2026-01-05", "callback"),
        _call(first, "2026-01-05"),
    ]
    answer = client.post("/contacts", json={"contacts": calls})
    assert answer.status_code == 422
    body = answer.json()
    assert body["detail"].startswith("4 problem(s), nothing recorded: contacts[1].corporation:")
    assert [(e["field"], e["position"]) for e in body["errors"]] == [
        ("contacts[1].corporation", 1),
        ("contacts[2].contacted_at", 2),
        ("contacts[3].outcome", 3),
        ("contacts[4]", 4),
    ]
    assert body["errors"][3]["message"] == "the same contact as position 0"
    assert client.get("/contacts").json() == {"total": 0, "contacts": []}


def test_a_malformed_body_is_refused_with_the_field_named(client: TestClient) -> None:
    missing = client.post("/contacts", json={"corporation": "c1", "outcome": "reached"})
    assert missing.status_code == 422
    assert missing.json()["errors"] == [
        {"field": "contacted_at", "position": 0, "message": "Field required"}
    ]
    extra = client.post("/contacts", json={"contacts": [{**_call("c1", "2026-01-01"), "x": 1}]})
    assert extra.json()["errors"][0]["field"] == "contacts[0].x"
    assert extra.json()["errors"][0]["position"] == 0
    garbled = client.post("/contacts", content=b"{", headers={"content-type": "application/json"})
    assert garbled.status_code == 400
    assert client.post("/contacts", json={"contacts": []}).status_code == 422
    half = (
        b'{"corporation": "c1", "contacted_at": "2026-01-01", "outcome": "lost", "note": "\\ud800"}'
    )
    surrogate = client.post("/contacts", content=half, headers={"content-type": "application/json"})
    assert surrogate.status_code == 422
    assert {"field": "note", "position": 0, "message": "not valid text"} in surrogate.json()[
        "errors"
    ]


def test_contacts_need_the_token_when_one_is_set(built: Path, tmp_path: Path) -> None:
    guarded = api_settings(copy_workspace(built, tmp_path).path, api_token="s3cret")
    some = read_master(guarded.output_folder_path, columns=["corporation"])["corporation"][0]
    with TestClient(create_app(guarded)) as client:
        assert client.get("/contacts").status_code == 401
        assert client.post("/contacts", json=_call(some, "2026-01-05")).status_code == 401
        signed = {"Authorization": "Bearer s3cret"}
        answer = client.post("/contacts", json=_call(some, "2026-01-05"), headers=signed)
        assert answer.status_code == 201
        assert client.get("/contacts", headers=signed).json()["total"] == 1


def test_calllist_carries_each_clients_last_contact(client: TestClient, settings: Settings) -> None:
    first, second = listed(settings)[:2]
    calls = [
        _call(first, "2026-01-05", "no_answer"),
        _call(first, "2026-01-06T10:00", "reached"),
    ]
    assert client.post("/contacts", json={"contacts": calls}).status_code == 201
    top = client.get("/calllist", params={"top": 3}).json()["top"]
    assert top[0]["corporation"] == first
    assert top[0]["last_contact"] == {
        "contacted_at": "2026-01-06T10:00:00.000000Z",
        "outcome": "reached",
    }
    assert top[1]["corporation"] == second
    assert top[1]["last_contact"] is None


def _call(client: str, when: str, outcome: str = "reached") -> dict[str, Any]:
    return {"corporation": client, "contacted_at": when, "outcome": outcome}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def test_calllist_marks_the_published_lists_control_group(
    client: TestClient, settings: Settings
) -> None:
    with Store(settings.database_url) as store:
        kept = {row["corporation"]: row["holdout"] for row in store.rows(call_list_items)}
    top = client.get("/calllist", params={"top": 10}).json()["top"]
    assert {row["corporation"]: row["holdout"] for row in top} == kept
    assert sum(row["holdout"] for row in top) == 1  # 10 % of the 10 listed
