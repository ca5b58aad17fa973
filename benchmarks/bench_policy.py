"""Policy benchmark: riskwatch's monitoring policy against fixed retraining schedules, per scenario.

Run with `make bench` or `.venv/bin/python benchmarks/bench_policy.py [--quick]` (not part of the
tests). For every demo scenario and seed, a demo workspace is created and `riskwatch backtest`'s
function replays its drops in order: riskwatch's own cycle (evaluate, retrain, promotion gate) in
a private copy, and the fixed schedules with riskwatch's own model builder. Each month's drop is
scored by the model deployed before it arrived: precision among the K riskiest (K = the
call-list capacity, 100) over the same for the true probabilities, averaged over the scored
months. The aim (issue 16): riskwatch's mean at least the best fixed schedule's minus 0.01, with
at most 60 % of a monthly schedule's deployments.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from common import Aim, footer, heading, print_aims

if TYPE_CHECKING:
    from riskwatch.backtest.run import Backtest

SCENARIOS = ("none", "covariate", "concept", "gradual", "seasonal")
DRIFT_MONTH = 5
MARGIN = 0.01  # riskwatch may trail the best fixed schedule by this much
DEPLOYMENT_SHARE = 0.6  # of a monthly schedule's deployments, at most


@dataclass(frozen=True)
class Size:
    """How large a run is."""

    clients: int
    months: int
    seeds: tuple[int, ...]


FULL = Size(clients=1_000, months=12, seeds=(1, 2))
QUICK = Size(clients=300, months=5, seeds=(1,))


def replay(folder: Path, scenario: str, seed: int, size: Size) -> Backtest:
    """One scenario and seed: a fresh demo workspace, backtested."""
    from riskwatch.backtest.run import backtest  # noqa: PLC0415 - after OMP_NUM_THREADS
    from riskwatch.config import load_settings  # noqa: PLC0415
    from riskwatch.demo.workspace import create_demo  # noqa: PLC0415

    drift = None if scenario == "none" else min(DRIFT_MONTH, size.months)
    workspace = folder / f"{scenario}-{seed}"
    create_demo(
        workspace,
        months=size.months,
        clients=size.clients,
        scenario=scenario,
        drift_month=drift,
        seed=seed,
    )
    return backtest(load_settings(workspace / "riskwatch.toml", env={}))


def scenario_section(scenario: str, found: list[Backtest], seeds: tuple[int, ...]) -> list[Aim]:
    """Print one scenario's table (a column per seed) and return its aims."""
    runs = [b.runs for b in found]
    k = found[0].k
    print(f"\n## Scenario `{scenario}`\n")
    seed_cells = " | ".join(f"seed {s}: mean p@{k} / oracle" for s in seeds)
    rest = "mean | mean ROC AUC | mean Brier | deployments after the first"
    print(f"| policy | {seed_cells} | {rest} |")
    print("|---|" + "---:|" * (len(seeds) + 4))
    means: dict[str, float] = {}
    deployments: dict[str, int] = {}
    for index, run in enumerate(runs[0]):
        per_seed = [r[index].means() for r in runs]
        ratio = [m["of_oracle"] or 0.0 for m in per_seed]
        means[run.policy] = sum(ratio) / len(ratio)
        deployments[run.policy] = sum(r[index].deployments for r in runs)
        auc = sum(m["roc_auc"] or 0.0 for m in per_seed) / len(per_seed)
        brier = sum(m["brier"] or 0.0 for m in per_seed) / len(per_seed)
        counts = " / ".join(str(r[index].deployments) for r in runs)
        name = f"**{run.policy}**" if run.policy == "riskwatch" else run.policy
        cells = " | ".join(f"{v:.3f}" for v in ratio)
        print(
            f"| {name} | {cells} | {means[run.policy]:.3f} | {auc:.3f} | {brier:.4f} | {counts} |"
        )
    decisions = "; ".join(" ".join(r[-1].decisions) for r in runs)
    print(f"\nriskwatch's cycles (per seed): {decisions}")
    return _aims(scenario, means, deployments)


def _aims(scenario: str, means: dict[str, float], deployments: dict[str, int]) -> list[Aim]:
    fixed = {name: value for name, value in means.items() if name != "riskwatch"}
    best = max(fixed, key=lambda name: fixed[name])
    ours = means["riskwatch"]
    monthly = deployments["retrain monthly on all data"]
    share = deployments["riskwatch"] / monthly if monthly else 0.0
    return [
        Aim(
            f"{scenario}: riskwatch's mean p@K / oracle",
            f">= best fixed ({best}, {fixed[best]:.3f}) - {MARGIN}",
            f"{ours:.3f}",
            ours >= fixed[best] - MARGIN,
        ),
        Aim(
            f"{scenario}: riskwatch's deployments after the first, of monthly's",
            f"<= {DEPLOYMENT_SHARE:.0%}",
            f"{share:.0%}",
            share <= DEPLOYMENT_SHARE,
        ),
    ]


def main() -> None:
    """Backtest every scenario and seed; print the tables and the aims."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 clients, 5 months, one seed")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--clients", type=int, help="instead of the size's clients")
    parser.add_argument("--months", type=int, help="instead of the size's months")
    parser.add_argument("--seeds", help="comma-separated, instead of the size's seeds")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="scenario-seed replays run at once (processes; default: one per core)",
    )
    args = parser.parse_args()
    # One OpenMP thread, as the riskwatch command sets it: two spin-wait on a busy machine.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    size = QUICK if args.quick else FULL
    size = Size(
        clients=args.clients or size.clients,
        months=args.months or size.months,
        seeds=tuple(int(s) for s in args.seeds.split(",")) if args.seeds else size.seeds,
    )
    seeds = size.seeds
    heading("Policy benchmark")
    print(
        f"{size.clients:,} clients, {size.months} months, seeds {seeds}, drift from month "
        f"{DRIFT_MONTH}; each month's drop scored by the model deployed before it."
    )
    aims: list[Aim] = []
    started = time.perf_counter()
    scenarios = args.scenarios.split(",")
    with tempfile.TemporaryDirectory() as folder, ProcessPoolExecutor(args.jobs) as pool:
        pending = {
            scenario: [pool.submit(replay, Path(folder), scenario, seed, size) for seed in seeds]
            for scenario in scenarios
        }
        for scenario in scenarios:
            found = [future.result() for future in pending[scenario]]
            aims += scenario_section(scenario, found, seeds)
            print(f"\n({time.perf_counter() - started:.0f} s since the start)", flush=True)
    print_aims(aims)
    footer()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
