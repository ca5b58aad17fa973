"""`riskwatch contacts import` and `contacts list` through the real entry point: the summary,
every refused line on stderr or in the --json error document, and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..conftest import run

MASTER = "corporation,lastmonth_activity,lastyear_activity,number_of_employees,exited\n"
CALLS = (
    "corporation,contacted_at,outcome,note,manager\n"
    "c1,2026-11-03T09:30,reached,Asked about prices,Ann\n"
    "c2,2026-11-04,no_answer,,Ben\n"
)


@pytest.fixture
def ws(workspace: Path) -> Path:
    """A workspace whose master dataset holds clients c1..c3, with a file of two calls."""
    (workspace / "ingesteddata").mkdir()
    rows = "".join(f"c{n},1,12,5,0\n" for n in (1, 2, 3))
    (workspace / "ingesteddata" / "finaldata.csv").write_text(MASTER + rows)
    (workspace / "calls.csv").write_text(CALLS)
    return workspace


def test_import_records_the_calls_and_a_second_import_adds_nothing(ws: Path) -> None:
    first = run("contacts", "import", "calls.csv", cwd=ws)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "Recorded 2 contacts from calls.csv.\n"
    again = run("contacts", "import", "calls.csv", "--json", cwd=ws)
    assert again.returncode == 0, again.stderr
    document = json.loads(again.stdout)
    assert (document["recorded"], document["already_recorded"]) == (0, 2)
    listed = run("contacts", "list", cwd=ws)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "2 contacts recorded, latest first:",
        "  2026-11-04 00:00  c2             no_answer (on no published list) by Ben",
        "  2026-11-03 09:30  c1             reached   (on no published list) by Ann: "
        "Asked about prices",
    ]


def test_list_filters_by_client_and_limits_with_json(ws: Path) -> None:
    assert run("contacts", "import", "calls.csv", cwd=ws).returncode == 0
    one = json.loads(run("contacts", "list", "--client", "c1", "--json", cwd=ws).stdout)
    assert one["total"] == 1
    assert [(c["corporation"], c["outcome"], c["list"]) for c in one["contacts"]] == [
        ("c1", "reached", None)
    ]
    limited = json.loads(run("contacts", "list", "--limit", "1", "--json", cwd=ws).stdout)
    assert (limited["total"], len(limited["contacts"])) == (2, 1)
    nothing = run("contacts", "list", "--client", "c3", cwd=ws)
    assert "No contacts recorded with c3" in nothing.stdout


def test_a_refused_file_names_every_bad_line_records_nothing_and_exits_1(ws: Path) -> None:
    (ws / "bad.csv").write_text(CALLS + "c9,2026-11-05,reached,,\nc3,2026-11-05,busy,,\n")
    result = run("contacts", "import", "bad.csv", cwd=ws)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "bad.csv refused, nothing recorded (2 problems)" in result.stderr
    assert "line 4: corporation: unknown client 'c9'" in result.stderr
    assert "line 5: outcome: unknown outcome 'busy'" in result.stderr
    document = json.loads(run("contacts", "import", "bad.csv", "--json", cwd=ws).stdout)
    assert (document["exit_code"], document["command"]) == (1, "contacts import")
    assert [(e["line"], e["field"]) for e in document["errors"]] == [
        (4, "corporation"),
        (5, "outcome"),
    ]
    assert json.loads(run("contacts", "list", "--json", cwd=ws).stdout)["total"] == 0


def test_a_missing_file_exits_1_and_a_missing_action_exits_2(ws: Path) -> None:
    missing = run("contacts", "import", "nowhere.csv", "--json", cwd=ws)
    assert missing.returncode == 1
    assert "nowhere.csv" in json.loads(missing.stdout)["error"]
    assert run("contacts", cwd=ws).returncode == 2
