"""The replay command through the real `riskwatch` entry point: its options, a failing cycle."""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import OFFLINE_INDEX, demo, run


def test_replay_of_zero_months_exits_2(tmp_path: Path) -> None:
    result = run("replay", "--months", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_a_failing_cycle_stops_the_replay_with_exit_1_naming_the_cycle(tmp_path: Path) -> None:
    settings = demo(tmp_path / "ws", scenario="none", months=2, clients=500)
    (settings.test_data_path / "testdata.csv").write_text("corporation,exited\nx,1\n")
    env = {"RISKWATCH_PACKAGE_INDEX_URL": OFFLINE_INDEX}
    result = run("replay", "--months", "1", "--json", cwd=settings.workspace, env=env, timeout=300)
    assert result.returncode == 1
    cycles = json.loads(result.stdout)["cycles"]
    assert [cycle["outcome"] for cycle in cycles] == ["failed"]
    assert f"error: cycle {cycles[0]['cycle_id']} failed: initial model:" in result.stderr
