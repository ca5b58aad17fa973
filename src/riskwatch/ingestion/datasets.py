"""Labelled data files read whole and checked (the holdout, or a file a user names)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.readers import UnreadableBatchError, read_file
from riskwatch.schema import REQUIRED, SchemaError, validate

SUPPORTED = (".csv", ".parquet", ".jsonl")
SHOWN_BAD_ROWS = 3


class DataError(RiskwatchError):
    """A data file that cannot be used as asked; the message names the file and the lines."""


def data_files(path: Path) -> list[Path]:
    """The data files at a path: the file itself, or the supported files of a folder."""
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix in SUPPORTED and p.is_file())
        if not found:
            raise DataError(f"{path}: no data file ({', '.join(SUPPORTED)}) in this folder")
        return found
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    return [path]


def read_labelled(path: Path, *, require_target: bool = True) -> pd.DataFrame:
    """Every row of the data files at path, checked; any bad row stops with its line and reason."""
    frames = []
    for file in data_files(path):
        frames.extend(_read_checked(file, require_target))
    columns = list(REQUIRED if require_target else REQUIRED[:-1])
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in columns})
    return pd.concat(frames, ignore_index=True)[columns]


def _read_checked(file: Path, require_target: bool) -> list[pd.DataFrame]:
    frames = []
    try:
        chunks = list(read_file(file, chunk_rows=1_000_000, require_target=require_target))
    except (UnreadableBatchError, OSError) as exc:
        raise DataError(f"{file}: {exc}") from exc
    for chunk in chunks:
        try:
            checked = validate(chunk.frame, lines=chunk.lines, require_target=require_target)
        except SchemaError as exc:
            raise DataError(f"{file}: {exc}") from exc
        bad = [(int(line), str(reason)) for line, reason in chunk.skipped]
        bad += list(zip(checked.bad["line"].tolist(), checked.bad["reason"].tolist(), strict=True))
        if bad:
            shown = "; ".join(f"line {line}: {reason}" for line, reason in sorted(bad)[:3])
            more = f" (and {len(bad) - SHOWN_BAD_ROWS} more)" if len(bad) > SHOWN_BAD_ROWS else ""
            raise DataError(f"{file}: {len(bad)} bad row(s): {shown}{more}")
        frames.append(checked.good)
    return frames
