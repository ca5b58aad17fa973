"""A call list from any client file, read in chunks: the top clients kept, reasons for them only."""

from __future__ import annotations

import csv
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskwatch.calllist.build import CallList, against_published, deployed_model, rank_clients
from riskwatch.calllist.clientfile import BLOCK_BYTES, Chunk, open_client_file
from riskwatch.calllist.published import write_csv
from riskwatch.calllist.value import ranking
from riskwatch.config import Settings
from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.quarantine import neutralise
from riskwatch.model.pipeline import predict_risk
from riskwatch.schema import FEATURES, ID_COLUMN, TARGET, validate
from riskwatch.storage.files import atomic_path
from riskwatch.storage.store import Store

log = logging.getLogger(__name__)

SHOWN_SKIPPED = 5  # skipped rows named in the summary; the file beside the list has them all
SKIPPED_COLUMNS = ["line", "reason", ID_COLUMN, *FEATURES]
# A candidate: the client's row, its line (ties keep the file's order) and what it is ranked by.
LINE, SCORE = "line", "score"


def best(rows: pd.DataFrame, size: int) -> pd.DataFrame:
    """The `size` rows with the highest score; ties in the file's order, as the list has them."""
    score = rows[SCORE].to_numpy()
    if len(rows) > size:  # keep every row tied with the last one kept: the line decides after
        bar = np.partition(score, len(rows) - size)[len(rows) - size]
        rows = rows[score >= bar]
    order = np.lexsort((rows[LINE].to_numpy(), -rows[SCORE].to_numpy()))[:size]
    return rows.iloc[order].reset_index(drop=True)


@dataclass
class Tally:
    """What a pass over the file found besides the clients it ranks."""

    clients: int = 0
    departed: int = 0  # rows whose exited says the client left: no one to call
    skipped: int = 0
    first_skipped: list[dict[str, Any]] = field(default_factory=list)  # (line, reason) shown


@dataclass(frozen=True)
class FileList:
    """The call list of a client file, where it was written, and the rows skipped."""

    calls: CallList
    source: str
    written: str
    skipped_file: str
    tally: Tally

    def to_dict(self) -> dict[str, Any]:
        """As JSON: the list as the normal command gives it, plus the file's own counts."""
        return self.calls.to_dict() | {
            "source": self.source,
            "written": self.written,
            "skipped": {
                "rows": self.tally.skipped,
                "first": self.tally.first_skipped,
                "file": self.skipped_file,
            },
        }

    def summary(self, shown: int = 10) -> str:
        """The top of the list as readable lines, then the skipped rows and the files."""
        calls, tally = self.calls, self.tally
        heading = (
            f"Call list of {self.source}: {len(calls.frame)} of {tally.clients:,} clients "
            f"(model {calls.version}; {tally.departed:,} who left are not listed)"
        )
        more = len(calls.frame) - shown
        rest = [f"  … {more} more in {self.written}"] if more > 0 else []
        skipped = [f"{tally.skipped:,} rows skipped (all in {self.skipped_file})"]
        skipped += [f"  line {row['line']}: {row['reason']}" for row in tally.first_skipped]
        written = f"Written to {self.written} (not published: the managers' list is unchanged)"
        return "\n".join([heading, *calls.lines(shown), *rest, *skipped, written])


def file_call_list(
    settings: Settings,
    store: Store,
    clients: Path,
    *,
    top: int | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> FileList:
    """Score every client of a file with the deployed model, a chunk at a time, and write the
    top of the list (reasons for those only) and the skipped rows to the reports folder."""
    deployed, model, reference = deployed_model(settings)
    size = top if top is not None else settings.call_list_capacity
    opened = open_client_file(clients, block_bytes=block_bytes)
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in clients.stem)[:100]
    skipped_path = settings.reports_path / f"calllist-{stem}.skipped.csv"
    tally, kept = Tally(), None
    seen: dict[str, int] = {}  # each client's first line: a client named twice is listed once
    with atomic_path(skipped_path) as temporary, temporary.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(SKIPPED_COLUMNS)
        with _progress(opened.total, opened.unit) as advance:
            for chunk in opened.chunks:
                good = _checked(chunk, TARGET in opened.columns, seen, tally, writer)
                scored = _scored(model, settings, good)
                both = scored if kept is None else pd.concat([kept, scored], ignore_index=True)
                kept = best(both, size)
                advance(chunk.done)
    if kept is None or kept.empty:
        raise RiskwatchError(f"{clients}: no client to list ({tally.skipped:,} rows skipped)")
    ranked = rank_clients(model, kept, reference, top=size, settings=settings)
    listed, compared = against_published(settings, store, ranked)
    written = settings.reports_path / f"calllist-{stem}.csv"
    write_csv(listed, written)
    log.debug("listed %d of %d clients of %s", len(listed), tally.clients, clients)
    calls = CallList(
        deployed.version, tally.clients, listed, str(written), tally.departed, compared
    )
    return FileList(calls, str(clients), str(written), str(skipped_path), tally)


def _checked(
    chunk: Chunk, with_target: bool, seen: dict[str, int], tally: Tally, writer: Any
) -> pd.DataFrame:
    """A chunk's good rows with their lines; bad ones written out and counted."""
    checked = validate(chunk.frame, lines=chunk.lines, require_target=with_target)
    lines = chunk.lines[~np.isin(chunk.lines, checked.bad["line"].to_numpy())]
    good = checked.good.assign(**{LINE: lines})
    repeated = _repeats(good, seen)
    blank = ("",) * len(FEATURES)
    again = zip(good[ID_COLUMN][repeated], good[LINE][repeated], strict=True)
    bad = [
        *((line, why, "", *blank) for line, why in chunk.unparsable),
        *_bad_rows(checked.bad),
        *((int(n), f"{ID_COLUMN} already listed on line {seen[c]}", c, *blank) for c, n in again),
    ]
    bad.sort(key=lambda row: row[0])
    writer.writerows(_neutral(bad))
    tally.skipped += len(bad)
    room = SHOWN_SKIPPED - len(tally.first_skipped)
    tally.first_skipped += [
        {"line": int(row[0]), "reason": str(row[1])} for row in bad[: max(room, 0)]
    ]
    good = good[~repeated]
    if with_target:  # a client whose row says it left is gone: there is no one to call
        gone = (good[TARGET] == 1).to_numpy()
        tally.departed += int(gone.sum())
        good = good[~gone]
    tally.clients += len(good)
    return good


def _repeats(good: pd.DataFrame, seen: dict[str, int]) -> np.ndarray[Any, Any]:
    """Which rows name a client an earlier line named (the earlier row is the one listed)."""
    repeated = np.zeros(len(good), dtype=bool)
    for index, (client, line) in enumerate(zip(good[ID_COLUMN], good[LINE], strict=True)):
        if seen.setdefault(client, int(line)) != line:
            repeated[index] = True
    return repeated


def _bad_rows(bad: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Rows that break the ingestion rules, with line, reason and cells as read."""
    if bad.empty:
        return iter(())
    cells = [bad[c].astype(object).where(bad[c].notna(), "") for c in (ID_COLUMN, *FEATURES)]
    return zip(bad["line"].astype(int), bad["reason"], *cells, strict=True)


def _neutral(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Skipped rows with their cells as text a spreadsheet shows and does not run."""
    if not rows:
        return []
    frame = pd.DataFrame(rows, columns=SKIPPED_COLUMNS, dtype=object)
    for column in SKIPPED_COLUMNS[1:]:  # one column at a time: a garbage file has many rows
        frame[column] = neutralise(frame[column].astype(str))
    cleaned: list[list[Any]] = frame.to_numpy().tolist()
    return cleaned


def _scored(model: Any, settings: Settings, good: pd.DataFrame) -> pd.DataFrame:
    """Good rows with what the list ranks them by (risk, or expected loss)."""
    rows = good[[ID_COLUMN, *FEATURES, LINE]].reset_index(drop=True)
    score, _ = ranking(settings, rows, predict_risk(model, rows))
    return rows.assign(**{SCORE: score})


@contextmanager
def _progress(total: int, unit: str) -> Iterator[Any]:
    """A progress bar on a terminal (stderr), nothing elsewhere nor with -q; yields its advance
    function."""
    from tqdm import tqdm  # noqa: PLC0415 - only this command shows a bar

    hidden = not sys.stderr.isatty() or not log.isEnabledFor(logging.INFO)
    with tqdm(total=total, unit=unit, unit_scale=True, desc="Scoring", disable=hidden) as bar:
        yield bar.update
