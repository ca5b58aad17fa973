"""Create a synthetic demo workspace for riskwatch and release its monthly drops.

The data (corporate clients observed monthly, with a known exit rule and an optional drift:
covariate, concept, gradual or seasonal) comes from :mod:`riskwatch.demo.portfolio`, whose
docstring documents the model.  This module writes it to disk::

    riskwatch.toml           workspace config (watches ``sourcedata``)
    drops/month_01.csv ...   every monthly drop, classic columns
    sourcedata/month_01.csv  the drops released so far (only month 1 at creation)
    testdata/testdata.csv    labelled holdout from the month-1 world
    source.db                SQLite table ``client_activity`` with the released months
    truth/truth.json         scenario, drift month, exit rate by month and the true rule
    truth/probabilities.csv  true exit probability of every row (month 0 = holdout)
    truth/calls.csv          whom the demo's managers called and reached (see demo/calls.py)

:func:`release_month` then makes one more drop visible in ``sourcedata`` and ``source.db``,
with the effect of the calls made on the list before (a reached client may stay).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pandas as pd

from riskwatch.demo import portfolio as demodata
from riskwatch.demo.calls import CALLS, with_calls
from riskwatch.demo.portfolio import COLUMNS, HOLDOUT_ROWS, PROBABILITY_COLUMN

SCENARIOS = demodata.SCENARIOS
MAX_MONTHS = 120
MIN_CLIENTS, MAX_CLIENTS = 100, 1_000_000
CONFIG_NAME = "riskwatch.toml"
SOURCE_DB = "source.db"
SOURCE_TABLE = "client_activity"
# Everything the demo creates at the top of the workspace; --force removes only these.
DEMO_ENTRIES = (CONFIG_NAME, "drops", "sourcedata", "testdata", SOURCE_DB, "truth")

CONFIG_TEXT = """\
# Folder watched for new monthly drops (CSV files with the classic columns).
input_folder_path = "sourcedata"
# Folder where ingested, de-duplicated data is written.
output_folder_path = "ingesteddata"
# Folder with the labelled holdout used to score the model.
test_data_path = "testdata"
# Folder where trained models are saved.
output_model_path = "models"
# Folder the model in production is deployed to.
prod_deployment_path = "production_deployment"
# Folder for reports.
reports_path = "reports"
# Database where riskwatch keeps its own records.
database_url = "sqlite:///riskwatch.db"
# Where new data comes from: "folder" watches input_folder_path.
source = "folder"
# To watch the database instead of the folder:
# source = "database"
# source_url = "sqlite:///source.db"
# source_table = "client_activity"
# source_watermark_column = "id"
"""

CREATE_TABLE = f"""
CREATE TABLE {SOURCE_TABLE} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    month INTEGER NOT NULL,
    corporation TEXT NOT NULL,
    lastmonth_activity INTEGER NOT NULL,
    lastyear_activity INTEGER NOT NULL,
    number_of_employees INTEGER NOT NULL,
    exited INTEGER NOT NULL
)"""


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`create_demo` wrote."""

    workspace: Path
    config_file: Path
    months: int
    clients: int
    scenario: str
    drift_month: int | None
    rows_per_month: int
    holdout_rows: int
    exit_rate: float  # overall share of exited == 1 over all drops


def create_demo(
    directory: Path,
    *,
    months: int = 12,
    seed: int = 42,
    scenario: str = "none",
    drift_month: int | None = None,
    clients: int = 10_000,
    force: bool = False,
) -> DemoSummary:
    """Write a demo workspace to ``directory`` with month 1 released."""
    drift = _validate(months, seed, scenario, drift_month, clients)
    _prepare_directory(directory, force)
    rates = _write_data(
        directory, months=months, seed=seed, scenario=scenario, drift=drift, clients=clients
    )
    summary = DemoSummary(
        workspace=directory,
        config_file=directory / CONFIG_NAME,
        months=months,
        clients=clients,
        scenario=scenario,
        drift_month=drift,
        rows_per_month=clients,
        holdout_rows=HOLDOUT_ROWS,
        exit_rate=sum(rates) / len(rates),
    )
    _write_truth(summary, seed, rates)
    summary.config_file.write_text(CONFIG_TEXT)
    with contextlib.closing(sqlite3.connect(directory / SOURCE_DB)) as connection:
        connection.execute(CREATE_TABLE)
        connection.execute(f"CREATE INDEX {SOURCE_TABLE}_month ON {SOURCE_TABLE} (month)")
        connection.commit()
    release_month(directory, 1)
    return summary


def _write_truth(summary: DemoSummary, seed: int, rates: list[float]) -> None:
    """Write truth/truth.json: the scenario and the true rule before and after the drift."""
    description = demodata.describe(summary.scenario, summary.drift_month)
    truth = {
        "scenario": summary.scenario,
        "drift_month": summary.drift_month,
        "seed": seed,
        "months": summary.months,
        "clients": summary.clients,
        "exit_rate_by_month": [round(rate, 6) for rate in rates],
        "rule": {"before": description["before"], "after": description["after"]},
        "change": description["change"],
        # A call reaches a client with reach_rate; a reached client who would leave stays
        # with probability save_share: P(leave | reached) = p x (1 - save_share).
        "calls": dict(CALLS),
    }
    path = summary.workspace / "truth" / "truth.json"
    path.write_text(json.dumps(truth, indent=2) + "\n")


def _validate(
    months: int, seed: int, scenario: str, drift_month: int | None, clients: int
) -> int | None:
    """Check every option and return the drift month to use."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"--months must be between 1 and {MAX_MONTHS}, got {months}")
    if seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {seed}")
    if scenario not in SCENARIOS:
        raise ValueError(f"--scenario must be one of {', '.join(SCENARIOS)}, got {scenario!r}")
    if not MIN_CLIENTS <= clients <= MAX_CLIENTS:
        raise ValueError(
            f"--clients must be between {MIN_CLIENTS:,} and {MAX_CLIENTS:,}, got {clients:,}"
        )
    if scenario == "none":
        if drift_month is not None:
            raise ValueError("--drift-month is only used with a drift scenario")
        return None
    if months < 2:
        raise ValueError(f"--months must be at least 2 with the {scenario} scenario, got {months}")
    drift = months // 2 + 1 if drift_month is None else drift_month
    if not 2 <= drift <= months:
        raise ValueError(f"--drift-month must be between 2 and months ({months}), got {drift}")
    return drift


def _prepare_directory(directory: Path, force: bool) -> None:
    """Create ``directory``, or clear the demo's own files from it when ``force`` is set."""
    if directory.exists() and not directory.is_dir():
        raise FileExistsError(f"{directory} exists and is not a directory")
    if directory.is_dir() and any(directory.iterdir()):
        if not force:
            raise FileExistsError(
                f"{directory} is not empty; pass --force to replace the demo files in it"
            )
        for name in DEMO_ENTRIES:
            path = directory / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
    for folder in ("drops", "sourcedata", "testdata", "truth"):
        (directory / folder).mkdir(parents=True, exist_ok=True)


def _write_csv(frame: pd.DataFrame, target: Path | TextIO, header: bool = True) -> None:
    """Write a frame as CSV with fixed formatting so that files are byte-reproducible."""
    frame.to_csv(target, index=False, header=header, lineterminator="\n", float_format="%.6f")


def _write_data(
    directory: Path, *, months: int, seed: int, scenario: str, drift: int | None, clients: int
) -> list[float]:
    """Write the drops, the holdout and the true probabilities; return exit rates by month."""
    columns = list(COLUMNS)
    truth_columns = ["month", "corporation", PROBABILITY_COLUMN]
    rates: list[float] = []
    with (directory / "truth" / "probabilities.csv").open("w", newline="") as truth:
        truth.write(",".join(truth_columns) + "\n")
        holdout = demodata.holdout(clients, seed)
        _write_csv(holdout[columns], directory / "testdata" / "testdata.csv")
        _write_csv(holdout.assign(month=0)[truth_columns], truth, header=False)
        frames = demodata.simulate(clients, months, scenario, drift, seed)
        for month, frame in enumerate(frames, start=1):
            _write_csv(frame[columns], directory / "drops" / _drop_name(month, months))
            _write_csv(frame.assign(month=month)[truth_columns], truth, header=False)
            rates.append(float(frame["exited"].mean()))
    return rates


def _drop_name(month: int, months: int) -> str:
    """Return the drop's file name, zero-padded so that names sort in month order."""
    width = max(2, len(str(months)))
    return f"month_{month:0{width}d}.csv"


def demo_months(workspace: Path) -> int:
    """Return the number of months of a demo workspace, or raise FileNotFoundError."""
    for required in (
        workspace / "truth" / "truth.json",
        workspace / "drops",
        workspace / SOURCE_DB,
    ):
        if not required.exists():
            raise FileNotFoundError(
                f"{workspace} is not a riskwatch demo workspace: {required} is missing"
            )
    truth = json.loads((workspace / "truth" / "truth.json").read_text())
    return int(truth["months"])


def release_month(workspace: Path, month: int) -> Path:
    """Make drop ``month`` visible in ``sourcedata`` and ``source.db``, with the calls' effect
    (drops/ stays as generated); return the released file."""
    months = demo_months(workspace)
    if not 1 <= month <= months:
        raise ValueError(f"month must be between 1 and {months}, got {month}")
    drop = workspace / "drops" / _drop_name(month, months)
    folder = workspace / "sourcedata"
    folder.mkdir(exist_ok=True)
    target = folder / drop.name
    text = with_calls(workspace, month, drop.read_text())
    if not (target.exists() and target.read_text() == text):
        _write_atomically(drop, target, text)
    _append_month(workspace / SOURCE_DB, month, target)
    return target


def _write_atomically(drop: Path, target: Path, text: str) -> None:
    """Write ``text`` (the drop as released) to ``target`` so that it never exists
    half-written."""
    folder = target.parent
    # A hidden temp file in the same folder, then an atomic rename: a watcher never sees a
    # half-written CSV.
    handle, name = tempfile.mkstemp(dir=folder, prefix=f".{drop.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        os.close(handle)
        temporary.write_text(text)
        # mkstemp creates the file readable by its owner only; give it the drop's permissions.
        shutil.copymode(drop, temporary)
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)


def _append_month(database: Path, month: int, drop: Path) -> None:
    """Insert the drop's rows into ``client_activity`` unless that month is already there."""
    with drop.open(newline="") as source:
        reader = csv.reader(source)
        if tuple(next(reader)) != COLUMNS:
            raise ValueError(f"{drop} does not have the columns {', '.join(COLUMNS)}")
        rows = [(month, r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in reader]
    insert = f"INSERT INTO {SOURCE_TABLE} (month, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)"
    with contextlib.closing(sqlite3.connect(database, isolation_level=None)) as connection:
        # IMMEDIATE takes the write lock before the check, so two concurrent releases of the
        # same month cannot both insert it.
        connection.execute("BEGIN IMMEDIATE")
        try:
            query = f"SELECT EXISTS (SELECT 1 FROM {SOURCE_TABLE} WHERE month = ?)"
            if not connection.execute(query, (month,)).fetchone()[0]:
                connection.executemany(insert, rows)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
