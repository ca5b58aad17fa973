"""The quarantine: bad rows kept as written and inert, and the reasons counted by rule."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from riskwatch.ingestion import ingest
from riskwatch.ingestion.quarantine import neutralise, quarantine_reasons, reason_kinds

from ..conftest import csv_rows
from .conftest import AddFile, MakeSettings


def test_quarantined_rows_never_hold_a_cell_a_spreadsheet_would_run(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("hostile.csv", csv_rows("\"=cmd|' /C calc'!A0\",x,12,3,0", "@SUM(A1),1,12,3,9"))
    result = ingest(make_settings()).batches[0]
    cells = [
        cell
        for line in Path(result.quarantine_file).read_text().splitlines()[1:]
        for cell in next(csv.reader([line]))
    ]
    assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(A1)" in cells
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))]


def test_quarantined_rows_keep_every_cell_as_written(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    written = [
        "big,1e400,12,3,0",
        "float,1e30,12,3,0",
        'spaced," 12 ",0x1F,3,0',
        "neg,-4,012,3.0,0",
        "missing,NA,12,,0",
        "formula,=1+1,12,3,0",
        "good,2,24,4,1",
    ]
    add_file("asis.csv", csv_rows(*written))
    result = ingest(make_settings()).batches[0]
    assert result.rows_quarantined == 6
    with Path(result.quarantine_file).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    cells = [row[header.index("corporation") :] for row in rows[1:]]
    expected = [next(csv.reader([line])) for line in written[:-1]]
    expected[-1][1] = "'=1+1"  # a formula stays neutralised
    assert cells == expected


def test_plain_numbers_are_left_as_written_and_formulas_are_not() -> None:
    cells = pd.Series(["-4", "+1e30", "=1+1", "-x", "@SUM(A1)", "ok"])
    assert neutralise(cells).tolist() == ["-4", "+1e30", "'=1+1", "'-x", "'@SUM(A1)", "ok"]


def test_a_reason_names_its_rules_without_the_values() -> None:
    reason = "lastmonth_activity is negative ('-4'); exited must be 0 or 1 ('2')"
    assert reason_kinds(reason) == ["lastmonth_activity is negative", "exited must be 0 or 1"]


def test_quarantined_rows_are_counted_by_rule_most_frequent_first(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("a,-1,12,3,0", "b,-2,12,3,2", "c,1,12,3,2", "d,1,12,3,2"))
    result = ingest(make_settings()).batches[0]
    assert quarantine_reasons(Path(result.quarantine_file)) == {
        "exited must be 0 or 1": 3,
        "lastmonth_activity is negative": 2,
    }


def test_an_unreadable_rows_file_has_no_reasons(tmp_path: Path) -> None:
    assert quarantine_reasons(tmp_path / "missing.rows.csv") == {}
