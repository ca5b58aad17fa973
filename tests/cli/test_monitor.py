"""The diagnose command through the real `riskwatch` entry point: every part, and its history."""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import OFFLINE_INDEX, run
from .conftest import FAST, rw


def test_diagnose_prints_every_part_and_keeps_a_history(ws: Path) -> None:
    rw(ws, "train")
    rw(ws, "deploy")
    # A closed port stands in for an unreachable package index: "unknown", never a failure.
    offline = {"RISKWATCH_PACKAGE_INDEX_URL": OFFLINE_INDEX}
    result = run("diagnose", "--json", cwd=ws, env=FAST | offline)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["summary_statistics"]["lastmonth_activity"]["count"] == 1500
    assert {row["latest"] for row in found["dependencies"] if row["name"] == "numpy"} == {"unknown"}
    history = run("diagnose", "--history", "timings", "--json", cwd=ws)
    assert history.returncode == 0, history.stderr
    assert len(json.loads(history.stdout)["history"]) == 1


def test_diagnose_prints_counts_as_whole_numbers_and_history_uncut(ws: Path) -> None:
    rw(ws, "train")
    rw(ws, "deploy")
    result = run("diagnose", "--no-timings", "--no-dependencies", cwd=ws, env=FAST)
    assert result.returncode == 0, result.stderr
    row = next(r for r in result.stdout.splitlines() if r.strip().startswith("exited"))
    assert row.split()[1] == "1,500", row  # the count, as people write it
    assert ".000" not in result.stdout
    history = run("diagnose", "--history", "predictions", cwd=ws)
    assert history.returncode == 0, history.stderr
    # Each entry in full words (the stored JSON was cut at 90 characters, mid-word).
    assert "labelled as leaving (risk >= 0.5)" in history.stdout
    statistics = run("diagnose", "--history", "summary_statistics", cwd=ws)
    assert "1,500" in statistics.stdout
    assert '{"' not in statistics.stdout
