"""Crash safety: a real `riskwatch run` killed with SIGKILL at several points, then run again.

The same kills, fifty and more, are the soak command `make soak` (benchmarks/soak_cycles.py).
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from riskwatch.config import load_settings
from riskwatch.demo.workspace import create_demo, release_month
from riskwatch.storage.store import Store, cycles

from ..cycle_faults import consistency, finish, kill_cycle

# Each cycle is killed at a seeded random moment between start-up and the end of its report;
# FAULT_SEED=<seed> replays a failing sequence.
SEED = int(os.environ.get("FAULT_SEED", "20261121"))
KILLS = 6


def test_cycles_killed_at_random_points_are_finished_by_the_next_ones(tmp_path: Path) -> None:
    rng = random.Random(SEED)  # noqa: S311 - kill times, not secrets
    kill_after = [round(rng.uniform(0.3, 3.5), 2) for _ in range(KILLS)]
    workspace = tmp_path / "ws"
    create_demo(workspace, months=KILLS, seed=7, clients=2000)
    config = workspace / "riskwatch.toml"
    survived = 0
    for month, seconds in enumerate(kill_after, start=1):
        release_month(workspace, month)  # new data, so each killed run is a full cycle
        landed = kill_cycle(config, seconds)
        finished = finish(config)
        where = f"seed {SEED}, month {month}, killed after {seconds} s"
        assert finished.returncode == 0, (where, finished.stderr)
        assert finished.result["error"] is None, where
        # It finished the killed cycle's work.
        assert finished.result["outcome"] != "no new data", where
        state = consistency(config)
        assert state.ok, (where, state.to_dict())
        survived += landed
    # Most kills land inside a cycle (the rest after it ended, which is fine too).
    assert survived >= KILLS // 2, f"seed {SEED}: only {survived} kills landed in a cycle"
    settings = load_settings(config, env={})
    with Store(settings.database_url) as store:
        outcomes = [row["outcome"] for row in store.rows(cycles)]
    assert outcomes.count("interrupted") >= 1
    print(f"fault injection, seed {SEED}: {survived} of {KILLS} kills landed, all recovered")
