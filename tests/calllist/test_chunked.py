"""The call list of a client file read in chunks: the same list, bad rows named and skipped."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import pty
import struct
import subprocess
import termios
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskwatch.calllist.build import build_call_list, latest_records
from riskwatch.calllist.chunked import best, file_call_list
from riskwatch.errors import RiskwatchError
from riskwatch.ingestion.master import read_master
from riskwatch.schema import FEATURES, ID_COLUMN, TARGET
from riskwatch.storage.store import Store

from ..conftest import RISKWATCH, Workspace, clean_env, run

SMALL_BLOCK = 2_000  # bytes: a few dozen clients a chunk, so a list of 2,000 spans many chunks
SHOWN = ["rank", ID_COLUMN, "probability", "risk_band", "reasons", "change", "holdout"]


def current_clients(ws: Workspace) -> pd.DataFrame:
    """The clients the normal list ranks, in its order: each one's latest record, still there."""
    records = latest_records(read_master(ws.settings.output_folder_path))
    return records[records[TARGET] == 0][[ID_COLUMN, *FEATURES]].reset_index(drop=True)


def test_best_keeps_the_highest_scores_with_ties_in_file_order() -> None:
    rows = pd.DataFrame({"line": [2, 3, 4, 5, 6], "score": [0.5, 0.9, 0.5, 0.1, 0.5]})
    assert best(rows, 3)["line"].tolist() == [3, 2, 4]
    assert best(rows.iloc[::-1], 3)["line"].tolist() == [3, 2, 4]


def test_chunked_list_equals_the_normal_list(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "clients.csv"
    current_clients(ws).to_csv(path, index=False)
    with Store(ws.settings.database_url) as store:
        normal = build_call_list(ws.settings, store, top=150)
        found = file_call_list(ws.settings, store, path, top=150, block_bytes=SMALL_BLOCK)
    assert found.calls.frame[SHOWN].to_dict("records") == normal.frame[SHOWN].to_dict("records")
    assert found.tally.clients == normal.clients
    assert found.tally.skipped == 0
    written = pd.read_csv(found.written, keep_default_na=False)
    assert written[ID_COLUMN].tolist() == normal.frame[ID_COLUMN].tolist()


def test_chunked_list_ranked_by_value_equals_the_normal_list(ws: Workspace, tmp_path: Path) -> None:
    settings = dataclasses.replace(ws.settings, call_list_rank_by="value")
    path = tmp_path / "clients.csv"
    current_clients(ws).to_csv(path, index=False)
    with Store(settings.database_url) as store:
        normal = build_call_list(settings, store, top=40)
        found = file_call_list(settings, store, path, top=40, block_bytes=SMALL_BLOCK)
    columns = [*SHOWN, "value", "expected_loss"]
    assert found.calls.frame[columns].to_dict("records") == normal.frame[columns].to_dict("records")


def test_parquet_file_gives_the_same_list(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "clients.parquet"
    current_clients(ws).to_parquet(path, index=False, row_group_size=100)
    with Store(ws.settings.database_url) as store:
        normal = build_call_list(ws.settings, store, top=30)
        found = file_call_list(ws.settings, store, path, top=30, block_bytes=SMALL_BLOCK)
    assert found.calls.frame[SHOWN].to_dict("records") == normal.frame[SHOWN].to_dict("records")


BAD_FILE = """corporation,lastmonth_activity,lastyear_activity,number_of_employees
good1,10,120,5
wrongtype,ten,120,5
missing,,120,5
broken,1,2
negative,1,12,-4

"quoted, ok",0,1,1
good1,0,0,1
toomany,1,2,3,4
good2,3,36,2
"""


def test_bad_rows_are_named_with_their_line_and_skipped(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "clients.csv"
    path.write_text(BAD_FILE)
    with Store(ws.settings.database_url) as store:
        found = file_call_list(ws.settings, store, path, block_bytes=100)
    assert sorted(found.calls.frame[ID_COLUMN]) == ["good1", "good2", "quoted, ok"]
    skipped = pd.read_csv(found.skipped_file, keep_default_na=False)
    reasons = dict(zip(skipped["line"], skipped["reason"], strict=True))
    assert sorted(reasons) == [3, 4, 5, 6, 7, 9, 10]
    assert "lastmonth_activity" in reasons[3] and "ten" in reasons[3]
    assert "missing" in reasons[4]
    assert reasons[5].startswith("unparsable line")
    assert "negative" in reasons[6]
    assert reasons[9] == "corporation already listed on line 2"
    assert reasons[10].startswith("unparsable line")
    assert found.tally.skipped == 7
    assert [row["line"] for row in found.tally.first_skipped] == [3, 4, 5, 6, 7]


def test_clients_who_left_are_not_listed(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "clients.csv"
    clients = current_clients(ws).head(10).assign(**{TARGET: [1, 0] * 5})
    clients.to_csv(path, index=False)
    with Store(ws.settings.database_url) as store:
        found = file_call_list(ws.settings, store, path)
    assert found.tally.departed == 5
    assert set(found.calls.frame[ID_COLUMN]) == set(clients[ID_COLUMN][1::2])


def test_a_file_without_the_feature_columns_is_refused(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "clients.csv"
    path.write_text("corporation,size\na,1\n")
    with Store(ws.settings.database_url) as store, pytest.raises(RiskwatchError, match="missing"):
        file_call_list(ws.settings, store, path)


def test_cli_lists_a_client_file_without_publishing(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "clients.csv"
    clients = current_clients(ws)
    clients.to_csv(path, index=False)
    result = run("calllist", "--clients", str(path), "--top", "5", "--json", cwd=ws.path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert [row["rank"] for row in answer["top"]] == [1, 2, 3, 4, 5]
    assert answer["clients"] == len(clients)
    assert answer["skipped"]["rows"] == 0
    assert answer["published"] is None
    assert Path(answer["written"]).is_file()
    assert not (ws.settings.reports_path / "calllist.csv").exists()
    text = run("calllist", "--clients", str(path), "--top", "3", cwd=ws.path)
    assert text.returncode == 0, text.stderr
    assert "not published" in text.stdout and "0 rows skipped" in text.stdout
    assert "Scoring" not in text.stderr  # no progress bar where stderr is not a terminal
    refused = run("calllist", "--clients", str(path), "--publish", cwd=ws.path)
    assert refused.returncode != 0
    assert "--publish and --clients" in refused.stderr


def test_scores_are_ranked_like_the_in_memory_sort() -> None:
    rng = np.random.default_rng(3)
    rows = pd.DataFrame({"line": np.arange(2, 1002), "score": rng.integers(0, 20, 1000) / 20})
    kept = None
    for start in range(0, 1000, 37):
        part = rows.iloc[start : start + 37]
        kept = best(part if kept is None else pd.concat([kept, part]), 50)
    assert kept is not None
    expected = rows.iloc[np.argsort(-rows["score"].to_numpy(), kind="stable")[:50]]
    assert kept["line"].tolist() == expected["line"].tolist()


def test_cli_shows_a_progress_bar_on_a_terminal(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "clients.csv"
    current_clients(ws).to_csv(path, index=False)
    leader, follower = pty.openpty()
    # A new terminal is 0 columns wide: the bar would have no room at all.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    with os.fdopen(leader, "rb", buffering=0) as terminal:
        done = subprocess.run(
            [str(RISKWATCH), "calllist", "--clients", str(path), "--top", "3"],
            cwd=ws.path,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=120,
            check=False,
        )
        os.close(follower)
        shown = b""
        while True:
            try:
                data = terminal.read(65536)
            except OSError:  # the terminal's other end is closed: all was read
                break
            if not data:
                break
            shown += data
    assert done.returncode == 0
    assert b"Scoring" in shown and b"100%" in shown


def test_bad_parquet_rows_are_named_with_their_row(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "clients.parquet"
    clients = current_clients(ws).head(6)
    clients.loc[3, "number_of_employees"] = -4
    clients.to_parquet(path, index=False)
    with Store(ws.settings.database_url) as store:
        found = file_call_list(ws.settings, store, path)
    assert found.tally.first_skipped == [
        {"line": 4, "reason": "number_of_employees is negative ('-4')"}
    ]
    assert len(found.calls.frame) == 5


def test_cli_names_the_skipped_rows(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "clients.csv"
    path.write_text(BAD_FILE)
    result = run("calllist", "--clients", str(path), "--json", cwd=ws.path)
    assert result.returncode == 0, result.stderr
    skipped = json.loads(result.stdout)["skipped"]
    assert skipped["rows"] == 7
    assert [row["line"] for row in skipped["first"]] == [3, 4, 5, 6, 7]
    text = run("calllist", "--clients", str(path), cwd=ws.path)
    assert (
        "7 rows skipped" in text.stdout
        and "  line 6: number_of_employees is negative" in text.stdout
    )
