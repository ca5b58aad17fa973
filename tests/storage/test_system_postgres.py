"""A whole riskwatch on PostgreSQL: a 500-client demo whose `database_url` names a real
server, driven by the real commands in their own processes (replay, run, status, contacts,
calllist, serve and the web app), and a cycle run while `riskwatch serve` answers."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest
import sqlalchemy as sa

from riskwatch.storage import tables
from riskwatch.storage.store import Store

from ..conftest import _sqlalchemy_url, free_port, run
from ..webapp.pages_fixtures import serve

pytestmark = pytest.mark.postgres

CLIENTS, MONTHS, REPLAYED = 500, 3, 2  # month 3 is left for the cycle run beside the API
# The tables `riskwatch status` reads, copied to SQLite to compare its two readers.
STATUS_TABLES = ("models", "scores", "deployments", "promotions", "cycles")


@dataclass(frozen=True)
class System:
    """A demo workspace on PostgreSQL after `riskwatch replay`: its folder, database and output."""

    path: Path
    url: str
    replayed: dict[str, Any]

    def riskwatch(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """The real command on this workspace; fails the test with its output when it fails."""
        done = run("--config", str(self.path / "riskwatch.toml"), *args, timeout=timeout)
        assert done.returncode == 0, done.stdout + done.stderr
        return done


@pytest.fixture(scope="module")
def database(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL database for this module's workspace, as a SQLAlchemy URL."""
    name = f"system{os.getpid()}_{free_port()}"
    admin = sa.create_engine(_sqlalchemy_url(postgres_server), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(_sqlalchemy_url(postgres_server)).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory, database: str) -> System:
    """A 500-client demo pointed at PostgreSQL, two of its three months replayed (the third
    drifts: its cycle retrains and promotes a new version)."""
    from riskwatch.demo.workspace import create_demo  # noqa: PLC0415 - heavy

    path = tmp_path_factory.mktemp("pgsystem") / "ws"
    create_demo(
        path, months=MONTHS, seed=17, clients=CLIENTS, scenario="covariate", drift_month=MONTHS
    )
    config = path / "riskwatch.toml"
    text = config.read_text().replace('"sqlite:///riskwatch.db"', json.dumps(database))
    config.write_text(text + "bootstrap_resamples = 50\n")  # a quick gate
    ws = System(path, database, {})
    replayed = ws.riskwatch("replay", "--months", str(REPLAYED), "--json", timeout=600)
    return System(path, database, json.loads(replayed.stdout))


def test_replay_records_every_month_in_postgresql(system: System) -> None:
    cycles = system.replayed["cycles"]
    assert [c["error"] for c in cycles] == [None] * REPLAYED
    assert cycles[0]["outcome"] == "initial"
    with Store(system.url) as store:
        recorded = store.rows(tables.cycles, trigger="replay")
        assert len(store.rows(tables.deployments)) >= 1
        assert store.rows(tables.call_lists)
    assert [c["id"] for c in recorded][:REPLAYED] == [c["cycle_id"] for c in cycles]
    assert not (system.path / "riskwatch.db").exists()  # nothing went to SQLite


def test_run_without_new_data_is_recorded_in_postgresql(system: System) -> None:
    result = json.loads(system.riskwatch("run", "--json").stdout)
    assert result["outcome"] == "no new data"
    with Store(system.url) as store:
        newest = store.rows(tables.cycles, newest_first=True, limit=1)[0]
    assert (newest["id"], newest["outcome"]) == (result["cycle_id"], "no new data")


def test_status_on_postgresql_says_what_it_says_on_sqlite(system: System, tmp_path: Path) -> None:
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    with Store(system.url) as source, Store(copy) as target, target.begin() as conn:
        for name in STATUS_TABLES:
            table = getattr(tables, name)
            found = source.rows(table)
            if found:
                conn.execute(table.insert(), [_encoded(row) for row in found])
    on_postgres = system.riskwatch("status").stdout
    config = str(system.path / "riskwatch.toml")
    on_sqlite = run("--config", config, "status", env={"RISKWATCH_DATABASE_URL": copy})
    assert on_sqlite.returncode == 0, on_sqlite.stderr
    assert "Deployed: " in on_postgres and "Cycles (newest first):" in on_postgres
    assert on_postgres == on_sqlite.stdout


def _encoded(row: dict[str, Any]) -> dict[str, Any]:
    """A record as Store.rows decodes it, encoded back for an insert."""
    return {k: json.dumps(v) if k in tables.JSON_COLUMNS else v for k, v in row.items()}


def test_contacts_imported_are_listed_from_postgresql(system: System, tmp_path: Path) -> None:
    listed = json.loads(system.riskwatch("calllist", "--json", "--top", "3").stdout)
    clients = [item["corporation"] for item in listed["top"]]
    calls = tmp_path / "calls.csv"
    rows = [f"{client},2026-01-0{i + 1},reached" for i, client in enumerate(clients)]
    calls.write_text("corporation,contacted_at,outcome\n" + "\n".join(rows) + "\n")
    before = json.loads(system.riskwatch("contacts", "list", "--json").stdout)["total"]
    system.riskwatch("contacts", "import", str(calls))
    assert json.loads(system.riskwatch("contacts", "list", "--json").stdout)["total"] == before + 3
    found = json.loads(
        system.riskwatch("contacts", "list", "--client", clients[0], "--json").stdout
    )
    assert ("reached", "2026-01-01") in {
        (c["outcome"], str(c["contacted_at"])[:10]) for c in found["contacts"]
    }


def test_serve_answers_the_api_and_the_web_app_from_postgresql(system: System) -> None:
    with serve(system.path) as server:
        listed = httpx2.get(f"{server.url}/calllist", timeout=60)
        assert listed.status_code == 200, listed.text
        top = listed.json()["top"][0]["corporation"]
        now = datetime.now(UTC).isoformat()  # after the demo's managers' calls
        call = {"corporation": top, "contacted_at": now, "outcome": "saved"}
        posted = httpx2.post(f"{server.url}/contacts", json=call, timeout=60)
        assert posted.status_code in (200, 201), posted.text
        got = httpx2.get(f"{server.url}/contacts", params={"client": top}, timeout=60)
        assert got.status_code == 200, got.text
        assert "saved" in {c["outcome"] for c in got.json()["contacts"]}
        version = httpx2.get(f"{server.url}/ready", timeout=60).json()["version"]
        shows = {
            "/app/": version,
            "/app/calllist": "outcome-saved",  # the top client's call just recorded
            f"/app/clients/{top}": top,
            "/app/models": version,
            "/app/cycles": "replay",
            "/app/data": "month_02.csv",
        }
        for page, expected in shows.items():
            shown = httpx2.get(f"{server.url}{page}", timeout=60)
            assert shown.status_code == 200, f"{page}: {shown.text}"
            assert expected in shown.text, f"{page} does not show {expected}"


def test_a_cycle_runs_on_postgresql_while_the_api_answers(system: System) -> None:
    from riskwatch.demo.workspace import release_month  # noqa: PLC0415

    with serve(system.path) as server:
        before = httpx2.get(f"{server.url}/ready", timeout=60).json()["version"]
        release_month(system.path, MONTHS)
        answers: list[int] = []
        stop = threading.Event()
        asking = threading.Thread(target=_ask, args=(server.url, answers, stop))
        asking.start()
        try:
            result = json.loads(system.riskwatch("run", "--json", timeout=600).stdout)
        finally:
            stop.set()
            asking.join()
        after = httpx2.get(f"{server.url}/ready", timeout=60).json()
    assert (result["error"], result["outcome"]) == (None, "promoted")
    assert len(answers) > 10 and set(answers) <= {200, 503}, answers
    with Store(system.url) as store:
        deployed = store.rows(tables.deployments, newest_first=True, limit=1)[0]["version"]
        assert store.rows(tables.cycles, newest_first=True, limit=1)[0]["id"] == result["cycle_id"]
    assert before != deployed
    assert (after["version"], after["deployed_version"]) == (deployed, deployed)
    assert not (system.path / "riskwatch.db").exists()  # neither process went to SQLite


def _ask(url: str, answers: list[int], stop: threading.Event) -> None:
    """Ask for the call list and readiness again and again until told to stop."""
    with httpx2.Client(base_url=url, timeout=60) as client:
        while not stop.is_set():
            for path in ("/calllist", "/ready"):
                answers.append(client.get(path).status_code)
            time.sleep(0.05)
