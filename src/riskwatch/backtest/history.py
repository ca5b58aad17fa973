"""A workspace's labelled drops in the order they arrived, with the true risks when known."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskwatch.config import Settings
from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.master import read_master
from riskwatch.schema import BATCH_COLUMN, ID_COLUMN, REQUIRED, TARGET

MIN_DROPS = 3  # one to start from, one decision, one drop that decision is scored on
TRUTH_FOLDER = "truth"
PROBABILITY_COLUMN = "true_probability"


class BacktestError(RiskwatchError):
    """A history that cannot be replayed (no labels, too few drops); nothing is changed."""


@dataclass(frozen=True)
class Drop:
    """One drop: its name, its labelled rows, and each row's true risk when the data is known."""

    name: str
    rows: pd.DataFrame
    truth: np.ndarray | None = None


def load_history(settings: Settings) -> list[Drop]:
    """The workspace's drops: a demo's generated months (with their truth), else the master
    dataset's batches in ingestion order; refuse a history that cannot be replayed."""
    truth = settings.workspace / TRUTH_FOLDER / "truth.json"
    drops = _demo_drops(settings.workspace) if truth.is_file() else _master_drops(settings)
    if len(drops) < MIN_DROPS:
        raise BacktestError(
            f"{len(drops)} labelled drop(s) in {settings.workspace}; a backtest needs at least "
            f"{MIN_DROPS}: one to train on, then each later one scored by the model before it"
        )
    return drops


def _master_drops(settings: Settings) -> list[Drop]:
    """The master dataset's labelled rows, one drop per batch, in batch order."""
    master = read_master(settings.output_folder_path)
    if master.empty:
        raise BacktestError(
            f"no ingested data in {settings.output_folder_path}: run `riskwatch run` (or "
            "`riskwatch ingest`) on the drops first, with their outcomes in the column "
            f"'{TARGET}'"
        )
    if BATCH_COLUMN not in master.columns:
        raise BacktestError(
            f"the master dataset has no '{BATCH_COLUMN}' column (written by another tool?), so "
            "its drops cannot be told apart: re-ingest the files with riskwatch"
        )
    labelled = master.dropna(subset=[TARGET]) if TARGET in master.columns else master.iloc[:0]
    if labelled.empty:
        raise BacktestError(
            f"the master dataset in {settings.output_folder_path} has no labels ('{TARGET}'): "
            "a backtest scores each drop against its known outcomes"
        )
    return [
        Drop(f"batch {batch}", _classic(rows))
        for batch, rows in labelled.groupby(BATCH_COLUMN, sort=True)
    ]


def _demo_drops(workspace: Path) -> list[Drop]:
    """A demo's drops as generated (no calls' effect), each with its true probabilities."""
    files = sorted((workspace / "drops").glob("month_*.csv"))
    months = int(json.loads((workspace / TRUTH_FOLDER / "truth.json").read_text())["months"])
    truth = pd.read_csv(workspace / TRUTH_FOLDER / "probabilities.csv")
    drops = []
    for month, file in enumerate(files[:months], start=1):
        rows = _classic(pd.read_csv(file))
        known = truth[truth["month"] == month].set_index(ID_COLUMN)[PROBABILITY_COLUMN]
        risks = known.reindex(rows[ID_COLUMN]).to_numpy(dtype="float64")
        drops.append(Drop(file.stem, rows, None if np.isnan(risks).any() else risks))
    return drops


def _classic(rows: pd.DataFrame) -> pd.DataFrame:
    """The schema's columns only, labels as integers, a fresh index."""
    frame = rows[list(REQUIRED)].reset_index(drop=True)
    return frame.astype({TARGET: "int64"})
