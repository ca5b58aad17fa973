"""A batch's chunks validated: good rows typed, bad rows with line and reason, as written."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from riskwatch.ingestion.master import arrow_table
from riskwatch.ingestion.readers import RawChunk, raw_csv_cells, reads_as_csv
from riskwatch.schema import validate

log = logging.getLogger(__name__)


@dataclass
class Checked:
    """A batch read and validated, before deduplication."""

    good_rows: pa.Table  # typed as the master stores them
    bad: pd.DataFrame  # the rows as read, plus "line" and "reason"
    rows_read: int = 0
    missing: dict[str, int] = field(default_factory=dict)  # missing values a column

    @property
    def good(self) -> pd.DataFrame:
        """The good rows as a DataFrame."""
        frame: pd.DataFrame = self.good_rows.to_pandas()
        return frame


def validate_chunks(chunks: Iterable[RawChunk], extra_columns: str = "drop") -> Checked:
    """Validate every chunk; unparsable lines count as read and as bad rows."""
    goods: list[pa.Table] = []
    bads: list[pd.DataFrame] = []
    missing: dict[str, int] = {}
    rows_read = 0
    for chunk in chunks:
        checked = validate(chunk.frame, lines=chunk.lines, extra_columns=extra_columns)
        # Kept as Arrow chunk by chunk: no concatenated copy, and each DataFrame freed at once.
        goods.append(arrow_table(checked.good))
        bads.extend([checked.bad, skipped_rows(chunk.skipped)])
        for column, count in checked.missing.items():
            missing[column] = missing.get(column, 0) + count
        rows_read += len(chunk.frame) + len(chunk.skipped)
    good = pa.concat_tables(goods) if goods else arrow_table(pd.DataFrame())
    nonempty = [b for b in bads if len(b)]
    bad = pd.concat(nonempty, ignore_index=True) if nonempty else pd.DataFrame()
    return Checked(good, bad, rows_read, missing)


def skipped_rows(skipped: list[tuple[int, str]]) -> pd.DataFrame:
    """Lines the parser could not split into a row, as bad rows with line and reason."""
    return pd.DataFrame(
        {
            "line": [line for line, _ in skipped],
            "reason": [f"unparsable line: {why}" for _, why in skipped],
        }
    )


def as_written(path: Path | None, bad: pd.DataFrame) -> pd.DataFrame:
    """Bad rows of a CSV file with each cell's text as the file has it, not as parsed."""
    # The reader parses numbers as it reads (1e400 becomes inf, " 12 " becomes 12); the few
    # quarantined rows are read again as text so that the quarantine shows what was written.
    if bad.empty or path is None or not reads_as_csv(path):
        return bad
    header, records = raw_csv_cells(path, {int(line) for line in bad["line"]})
    raw = bad.copy()
    for index, name in enumerate(header):
        cells = [_cell(records.get(int(line)), index) for line in bad["line"]]
        raw[name] = pd.Series(cells, index=bad.index, dtype="object")
    return raw


def _cell(record: list[str] | None, index: int) -> str:
    return record[index] if record is not None and index < len(record) else ""
