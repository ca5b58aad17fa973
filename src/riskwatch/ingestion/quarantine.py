"""The quarantine: bad rows with line and reason, unreadable files, and what they say."""

from __future__ import annotations

import logging
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from riskwatch.storage.files import atomic_path, shown_path

log = logging.getLogger(__name__)

QUARANTINE = "quarantine"
QUARANTINE_LOG = "quarantined_files.csv"
# Whole files larger than this are recorded but not copied into quarantine (a sparse file can
# claim a gigabyte); the original stays in the source folder either way.
COPY_LIMIT_BYTES = 50 * 1024 * 1024
# Cells a spreadsheet runs as a formula when they start with one of these (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


def neutralise(values: pd.Series) -> pd.Series:
    """Text a spreadsheet would run as a formula, prefixed with ' so it shows as text."""
    text = values.astype(str)
    # A plain number such as -4 or +1e30 runs nothing: it is left as written.
    runs = text.str.startswith(FORMULA_START) & ~text.str.fullmatch(PLAIN_NUMBER)
    return text.where(~runs, "'" + text)


def rows_quarantine_path(folder: Path, batch_id: int, name: str) -> Path:
    """Where a batch's bad rows are quarantined (whether or not it had any)."""
    return folder / QUARANTINE / f"batch{batch_id:06d}-{_safe(name)}.rows.csv"


def quarantine_rows(folder: Path, batch_id: int, name: str, bad: pd.DataFrame) -> Path:
    """Write a batch's bad rows, with line and reason, to quarantine/; return the file."""
    target = rows_quarantine_path(folder, batch_id, name)
    frame = bad.copy()
    frame.insert(0, "file", name)
    for column in frame.columns:  # bad rows are raw text: a hostile cell stays inert
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column].dtype):
            frame[column] = neutralise(frame[column].fillna(""))
    with atomic_path(target) as temporary:
        frame.to_csv(temporary, index=False)
    return target


def forget_rows(folder: Path, batch_id: int) -> None:
    """Remove the bad rows a batch left behind when it never reached the master dataset."""
    for leftover in (folder / QUARANTINE).glob(f"batch{batch_id:06d}-*"):
        leftover.unlink()


def quarantine_file(folder: Path, name: str, path: Path | None, sha256: str, reason: str) -> Path:
    """Record a file that could not be read at all (and keep a copy when it is small)."""
    quarantine = folder / QUARANTINE
    quarantine.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    copy = quarantine / "files" / f"{stamp}-{_safe(name)}"
    if path is not None and path.exists() and path.stat().st_size <= COPY_LIMIT_BYTES:
        with atomic_path(copy) as temporary:
            shutil.copyfile(path, temporary)
    log = quarantine / QUARANTINE_LOG
    entry = pd.DataFrame([{"time": stamp, "file": name, "sha256": sha256, "reason": reason}])
    entry["file"], entry["reason"] = neutralise(entry["file"]), neutralise(entry["reason"])
    entry.to_csv(log, mode="a", header=not log.exists(), index=False)
    return log


def quarantined_rows(
    folder: Path, workspace: Path, *, batch: str, batch_id: int, rows: int
) -> dict[str, Any]:
    """A batch's quarantined rows: how many, why (counted by rule), and their file."""
    path = rows_quarantine_path(folder, batch_id, batch)
    return {
        "batch": batch,
        "whole_file": False,
        "rows": rows,
        "reasons": quarantine_reasons(path),
        "file": shown_path(path, workspace),
    }


def quarantine_reasons(path: Path) -> dict[str, int]:
    """How many quarantined rows of a rows file fail each rule, most frequent first."""
    try:
        reasons = pd.read_csv(path, usecols=["reason"], dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError):
        return {}
    counts: dict[str, int] = {}
    for reason in reasons["reason"]:
        for kind in reason_kinds(reason):
            counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def reason_kinds(reason: str) -> list[str]:
    """The rules a quarantined row breaks, without its values ("exited must be 0 or 1")."""
    kinds = []
    # A reason names each failing column as "<column> <rule> ('<value>')", joined by "; ".
    for part in reason.removeprefix("'").split("; "):
        kind = re.split(r" \(['\"]|: ", part, maxsplit=1)[0].strip()
        if kind and kind not in kinds:
            kinds.append(kind)
    return kinds


def _safe(name: str) -> str:
    """A file name fit for the quarantine folder, whatever the source called it."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return cleaned[:120] or "batch"
