"""The master dataset as diagnostics see it: summary statistics, missing values, numbers shown."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskwatch.config import Settings
from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.master import read_master
from riskwatch.schema import BATCH_COLUMN
from riskwatch.storage.store import BatchRecord

STATISTICS = ("count", "mean", "median", "std", "min", "q25", "q75", "max")


class DiagnosticsError(RiskwatchError):
    """Diagnostics that cannot run on this workspace; the message says what to do."""


def read_master_or_stop(settings: Settings) -> pd.DataFrame:
    """The master dataset; DiagnosticsError when nothing was ingested yet."""
    master = read_master(settings.output_folder_path)
    if master.empty:
        folder = settings.output_folder_path
        raise DiagnosticsError(f"no data in {folder}: run `riskwatch ingest` first")
    return master


def summary_statistics(frame: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """Count, mean, median, standard deviation (ddof 1), min, quartiles, max of numeric columns."""
    numbers = frame.select_dtypes("number").drop(columns=[BATCH_COLUMN], errors="ignore")
    if numbers.columns.empty:
        return {}
    names = {"50%": "median", "25%": "q25", "75%": "q75"}
    described = numbers.astype("float64").describe().rename(index=names)
    return {str(c): {s: _finite(described.at[s, c]) for s in STATISTICS} for c in numbers}


def _finite(value: Any) -> float | None:
    """A float, or None where it is undefined (JSON has no NaN; one row has no deviation)."""
    number = float(value)
    return number if np.isfinite(number) else None


def missing_shares(frame: pd.DataFrame) -> dict[str, float]:
    """The share of missing values in each column (0 when there are no rows)."""
    columns = [c for c in frame.columns if c != BATCH_COLUMN]
    return {str(c): float(frame[c].isna().mean()) if len(frame) else 0.0 for c in columns}


def batch_missing_shares(record: BatchRecord) -> dict[str, Any]:
    """The share of missing values a column in a batch as read (ingestion quarantined those)."""
    rows = record.rows_read
    return {
        "batch": record.name,
        "batch_id": record.id,
        "ingested_at": record.finished_at,
        "rows_read": rows,
        "counts": dict(record.missing_values),
        "shares": {c: n / rows if rows else 0.0 for c, n in record.missing_values.items()},
    }


def number(value: float | None, spec: str = ".3f") -> str:
    """A number formatted, or n/a when undefined."""
    return "n/a" if value is None else format(value, spec)


def readable(value: float | None) -> str:
    """A statistic as people write it: 119,894 (not 119894.000), 445.7, 0.243, n/a."""
    if value is None:
        return "n/a"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    # Larger numbers need fewer decimals to be read; small ones keep three significant digits.
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"


def statistics_text(part: dict[str, dict[str, float | None]]) -> list[str]:
    """Stored summary statistics as a table."""
    lines = ["Summary statistics of the master dataset:"]
    lines.append(" " * 22 + "".join(f"{name:>12}" for name in STATISTICS))
    for column, stats in part.items():
        lines.append(f"  {column:<20}" + "".join(f"{readable(stats[s]):>12}" for s in STATISTICS))
    return lines


def missing_text(part: dict[str, Any]) -> list[str]:
    """Stored missing-value shares as one line."""

    def shares(found: dict[str, float]) -> str:
        return ", ".join(f"{c} {share:.1%}" for c, share in found.items() if share) or "none"

    batch = part["latest_batch"] or {"batch": "none", "shares": {}}
    return [
        f"Missing values in the master dataset: {shares(part['master'])}; in the latest batch, "
        f"{batch['batch']} (rows with gaps are quarantined): {shares(batch['shares'])}"
    ]
