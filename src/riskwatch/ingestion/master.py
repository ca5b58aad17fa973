"""The master dataset (finaldata.parquet and the classic finaldata.csv) and the quarantine."""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from riskwatch.schema import BATCH_COLUMN, REQUIRED
from riskwatch.storage.files import atomic_path, shown_path

MASTER_PARQUET = "finaldata.parquet"
MASTER_CSV = "finaldata.csv"
INGESTED_LIST = "ingestedfiles.txt"
QUARANTINE = "quarantine"
QUARANTINE_LOG = "quarantined_files.csv"
# Whole files larger than this are recorded but not copied into quarantine (a sparse file can
# claim a gigabyte); the original stays in the source folder either way.
COPY_LIMIT_BYTES = 50 * 1024 * 1024
# Cells a spreadsheet runs as a formula when they start with one of these (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


def read_master(folder: Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The master dataset; the Parquet copy is the record, the CSV its classic twin."""
    parquet = folder / MASTER_PARQUET
    if parquet.exists():
        return pd.read_parquet(parquet, columns=columns)
    csv = folder / MASTER_CSV
    if csv.exists():  # a classic workspace ingested by another tool
        return pd.read_csv(csv, usecols=columns)
    return pd.DataFrame({c: pd.Series(dtype="int64") for c in (columns or [*REQUIRED])})


def master_batch_ids(folder: Path) -> set[int]:
    """The batch ids present in the master dataset (for recovery after a crash)."""
    parquet = folder / MASTER_PARQUET
    if not parquet.exists():
        return set()
    table = pq.read_table(parquet, columns=[BATCH_COLUMN])
    return {int(v) for v in table.column(BATCH_COLUMN).unique().to_pylist() if v is not None}


def append_master(folder: Path, new_rows: pd.DataFrame) -> int:
    """Append rows to both master files, each written to a temporary file and renamed."""
    folder.mkdir(parents=True, exist_ok=True)
    parquet = folder / MASTER_PARQUET
    old = pq.read_table(parquet) if parquet.exists() else None
    new = _arrow_table(new_rows)
    if old is not None:
        new = new.cast(old.schema) if new.schema.names == old.schema.names else new
        combined = pa.concat_tables([old, new], promote_options="permissive")
    else:
        combined = new
    _write_both(folder, combined, appended=new if old is not None else None)
    return int(combined.num_rows)


def _arrow_table(frame: pd.DataFrame) -> pa.Table:
    """The rows with fixed column types, so an empty first batch cannot fix a wrong type."""
    numbers = {*REQUIRED[1:], BATCH_COLUMN}
    schema = pa.schema(
        [(c, pa.int64() if c in numbers else pa.large_string()) for c in frame.columns]
    )
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def rebuild_csv(folder: Path) -> None:
    """Write finaldata.csv afresh from the Parquet record."""
    target = folder / MASTER_CSV
    with atomic_path(target) as temporary:
        _fill_csv(temporary, target, pq.read_table(folder / MASTER_PARQUET), appended=None)


def _write_both(folder: Path, table: pa.Table, appended: pa.Table | None) -> None:
    """Write both files side by side (pyarrow frees the GIL), then rename Parquet, then CSV."""
    # The Parquet file is the commit point; the CSV follows and is rebuilt from it if a crash
    # falls between the two renames (see loading.recover).
    csv = folder / MASTER_CSV
    with atomic_path(csv) as csv_temporary, atomic_path(folder / MASTER_PARQUET) as temporary:
        with ThreadPoolExecutor(max_workers=2) as pool:
            writes = [
                pool.submit(pq.write_table, table, temporary),
                pool.submit(_fill_csv, csv_temporary, csv, table, appended),
            ]
        for write in writes:
            write.result()


def _fill_csv(temporary: Path, target: Path, table: pa.Table, appended: pa.Table | None) -> None:
    same_columns = appended is not None and _csv_header(target) == table.schema.names
    if same_columns and appended is not None:
        # Appending costs the new rows only; copying bytes is far cheaper than re-encoding.
        shutil.copyfile(target, temporary)
        with temporary.open("ab") as handle:
            no_header = pacsv.WriteOptions(quoting_style="needed", include_header=False)
            pacsv.write_csv(appended, handle, no_header)
    else:
        pacsv.write_csv(table, temporary, pacsv.WriteOptions(quoting_style="needed"))


def _csv_header(path: Path) -> list[str] | None:
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as handle:
        return [name.strip('"') for name in handle.readline().rstrip("\r\n").split(",")]


def neutralise(values: pd.Series) -> pd.Series:
    """Text a spreadsheet would run as a formula, prefixed with ' so it shows as text."""
    text = values.astype(str)
    # A plain number such as -4 or +1e30 runs nothing: it is left as written.
    runs = text.str.startswith(FORMULA_START) & ~text.str.fullmatch(PLAIN_NUMBER)
    return text.where(~runs, "'" + text)


def write_ingested_list(folder: Path, names: list[str]) -> None:
    """The classic ingestedfiles.txt: one ingested file name a line."""
    with atomic_path(folder / INGESTED_LIST) as temporary:
        temporary.write_text("".join(f"{name}\n" for name in names), encoding="utf-8")


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
