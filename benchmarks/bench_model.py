"""Model benchmarks: training and scoring at 10,000 and 1,000,000 rows, the call list at 10,000.

Run with `make bench` or `.venv/bin/python benchmarks/bench_model.py [--quick]` (not part of the
tests). Data comes from the demo generator; every figure is measured here (best of a few runs, so
a busy moment of the machine does not count). --quick trains on 10,000 and 100,000 rows instead:
a check that the benchmark works, not the figures the issue asks for.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pandas as pd
from common import footer, heading

from riskwatch.calllist.build import build_call_list
from riskwatch.config import Settings, load_settings
from riskwatch.demo.workspace import create_demo, release_month
from riskwatch.deployment import deploy
from riskwatch.ingestion.ingest import ingest
from riskwatch.model.metrics import compute_metrics, effective_resamples
from riskwatch.model.pipeline import ModelParams, predict_risk
from riskwatch.storage.store import Store
from riskwatch.training import train_model, train_version

SIZES = (10_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
RUNS = 3


def best_of(runs: int, work: Callable[[], object]) -> float:
    """The fastest of a few timed runs, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def demo_workspace(folder: Path, months: int) -> Settings:
    """A demo workspace with `months` drops ingested."""
    create_demo(folder, months=months, seed=42)
    for month in range(2, months + 1):
        release_month(folder, month)
    settings = load_settings(folder / "riskwatch.toml", env={})
    ingest(settings)
    return settings


def rows_of(settings: Settings, size: int) -> pd.DataFrame:
    """`size` rows drawn from the master dataset (with repeats past its length)."""
    master = pd.read_parquet(settings.output_folder_path / "finaldata.parquet")
    return master.sample(n=size, replace=size > len(master), random_state=0).reset_index(drop=True)


def bench_training_and_scoring(settings: Settings, sizes: tuple[int, ...]) -> list[str]:
    """Fit and score each model kind on each size of frame (10 k and 1 M rows by default)."""
    lines = [
        "| model | rows | train (s) | predict (s) | metrics + bootstrap (s) | resamples |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        frame = rows_of(settings, size)
        for kind in ("logistic", "hgb", "classic"):
            lines.append(bench_kind(frame, kind, runs=RUNS if size <= min(sizes) else 1))
    return lines


def bench_kind(frame: pd.DataFrame, kind: str, runs: int) -> str:
    """One table row: fit, predict and metrics of one model kind on one frame."""
    params = ModelParams(kind=kind)  # type: ignore[arg-type]
    train = best_of(runs, partial(train_model, frame, params))
    model = train_model(frame, params)
    predict = best_of(runs, partial(predict_risk, model, frame))
    risk, labels = predict_risk(model, frame), frame["exited"].to_numpy()
    metrics = best_of(runs, partial(compute_metrics, labels, risk, k=100, resamples=1000))
    used = effective_resamples(len(frame), 1000)
    return f"| {kind} | {len(frame):,} | {train:.2f} | {predict:.3f} | {metrics:.2f} | {used:,} |"


def bench_commands(settings: Settings) -> list[str]:
    """train_version (train + holdout score + save) and the call list of one demo month."""
    store = Store(settings.database_url)
    versions: list[str] = []
    train = best_of(RUNS, lambda: versions.append(train_version(settings, store).version))
    deploy(settings, store, versions[-1])
    calls = best_of(RUNS, lambda: build_call_list(settings, store))
    clients = build_call_list(settings, store).clients
    store.close()
    return [
        "| step | data | seconds |",
        "|---|---|---:|",
        f"| train a version (fit, holdout metrics with 1,000 resamples, save) | "
        f"{pd.read_parquet(settings.output_folder_path / 'finaldata.parquet').shape[0]:,} rows "
        f"| {train:.2f} |",
        f"| call list (score, rank, reasons for the top 100; writes nothing) | {clients:,} clients "
        f"| {calls:.2f} |",
    ]


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"train and score on {' and '.join(f'{n:,}' for n in QUICK_SIZES)} rows (a smoke run)",
    )
    return parser.parse_args()


def main() -> None:
    """Run every model benchmark and print the tables."""
    sizes = QUICK_SIZES if options().quick else SIZES
    heading("Model benchmarks")
    shown = " and ".join(f"{size:,}" for size in sizes)
    with tempfile.TemporaryDirectory() as folder:
        settings = demo_workspace(Path(folder) / "ws", months=12)
        print(
            f"## Training and scoring at {shown} rows (best of {RUNS} at {min(sizes):,} rows, "
            "one run at the larger sizes)\n"
        )
        print("\n".join(bench_training_and_scoring(settings, sizes)), flush=True)
        one_month = demo_workspace(Path(folder) / "one", months=1)
        print(f"\n## Commands on the demo (one monthly drop; best of {RUNS})\n")
        print("\n".join(bench_commands(one_month)))
    footer()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
