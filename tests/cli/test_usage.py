"""The command line's own words: help texts, did-you-mean, and the JSON error document."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from riskwatch.config import Settings

from ..conftest import csv_rows, run


def error_document(stdout: str) -> dict[str, object]:
    """The one JSON document stdout holds (json.loads refuses anything around it)."""
    document = json.loads(stdout)
    assert set(document) == {"error", "exit_code", "command"}, document
    return dict(document)


@pytest.mark.parametrize("option", ["-v", "-q"])
def test_verbose_and_quiet_options_say_what_they_do(option: str) -> None:
    for args in ((), ("ingest",), ("calllist",)):
        result = run(*args, "--help")
        assert result.returncode == 0, result.stderr
        line = next(row for row in result.stdout.splitlines() if row.strip().startswith(option))
        said = line.split(maxsplit=2)[-1]
        assert "only warnings and errors" in said if option == "-q" else "everything" in said


def test_misspelled_command_exits_2_with_a_did_you_mean(tmp_path: Path) -> None:
    result = run("stauts", cwd=tmp_path)
    assert result.returncode == 2
    assert "riskwatch: unknown command 'stauts'; did you mean 'status'?" in result.stderr
    assert result.stdout == ""


def test_misspelled_action_of_a_command_names_the_whole_command(tmp_path: Path) -> None:
    result = run("cron", "instal", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown command 'cron instal'; did you mean 'cron install'?" in result.stderr


def test_misspelled_option_exits_2_with_the_commands_own_option(tmp_path: Path) -> None:
    result = run("calllist", "--tpo", "5", cwd=tmp_path)
    assert result.returncode == 2
    assert "riskwatch: unknown option '--tpo' for calllist; did you mean '--top'?" in result.stderr
    assert "usage: riskwatch calllist" in result.stderr
    assert "'5'" not in result.stderr  # the value of the misspelled option is not another error


def test_misspelled_choice_gets_a_did_you_mean(tmp_path: Path) -> None:
    result = run("diagnose", "--history", "drfit", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'drfit'" in result.stderr
    assert "did you mean 'drift'?" in result.stderr


def test_usage_error_with_json_prints_one_error_document(tmp_path: Path) -> None:
    result = run("calllist", "--json", "--top", "0", cwd=tmp_path)
    assert result.returncode == 2
    document = error_document(result.stdout)
    assert document["exit_code"] == 2
    assert document["command"] == "calllist"
    assert "must be a positive whole number" in str(document["error"])
    assert "must be a positive whole number" in result.stderr  # the human message stays
    unknown = run("stauts", "--json", cwd=tmp_path)
    assert error_document(unknown.stdout)["error"] == (
        "unknown command 'stauts'; did you mean 'status'?"
    )


def test_config_error_with_json_prints_one_error_document(tmp_path: Path) -> None:
    result = run("ingest", "--json", cwd=tmp_path)  # no riskwatch.toml here
    assert result.returncode == 2
    document = error_document(result.stdout)
    assert (document["exit_code"], document["command"]) == (2, "ingest")
    assert "riskwatch demo DIR" in str(document["error"])
    assert "riskwatch demo DIR" in result.stderr


def test_failed_command_with_json_prints_one_error_document(workspace: Path) -> None:
    (workspace / "sourcedata" / "a.csv").write_text(csv_rows("x,1,12,3,0"))
    assert run("ingest", cwd=workspace).returncode == 0
    result = run("calllist", "--json", cwd=workspace)
    assert result.returncode == 1
    document = error_document(result.stdout)
    assert (document["exit_code"], document["command"]) == (1, "calllist")
    assert "no model is deployed" in str(document["error"])
    assert "no model is deployed" in result.stderr


def test_locked_run_with_json_prints_one_error_document(
    workspace: Path, make_settings: Callable[..., Settings]
) -> None:
    from riskwatch.scheduler import run_lock  # noqa: PLC0415

    with run_lock(make_settings()):
        result = run("run", "--json", cwd=workspace)
    assert result.returncode == 3
    document = error_document(result.stdout)
    assert (document["exit_code"], document["command"]) == (3, "run")
    assert "another cycle" in str(document["error"]) or "lock" in str(document["error"])


def test_command_without_json_option_prints_nothing_on_stdout(tmp_path: Path) -> None:
    result = run("serve", "--json", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "unknown option '--json' for serve" in result.stderr


def test_diagnose_help_names_every_stored_kind() -> None:
    from riskwatch.diagnostics.diagnosis import RECORDED_KINDS  # noqa: PLC0415

    result = run("diagnose", "--help")
    said = " ".join(result.stdout.split())
    for kind in RECORDED_KINDS:
        assert kind in said


def test_quiet_hides_progress_bars_and_step_lines() -> None:
    import argparse  # noqa: PLC0415
    import logging  # noqa: PLC0415

    from riskwatch.cli.common import hidden, log, step_lines  # noqa: PLC0415

    before = log.level
    try:
        log.setLevel(logging.WARNING)  # what -q sets
        assert hidden() is True
        log.setLevel(logging.INFO)
        assert hidden() is None  # tqdm: shown on a terminal only
    finally:
        log.setLevel(before)
    assert step_lines(argparse.Namespace(json=False, quiet=True)) is None
    assert step_lines(argparse.Namespace(json=True, quiet=False)) is None


def test_each_command_is_parsed_by_the_module_registering_it() -> None:
    # A command line naming a command builds that module's parsers alone (REGISTERS says which).
    from riskwatch.cli import MODULES, REGISTERS, _parser  # noqa: PLC0415
    from riskwatch.cli.usage import _subcommands  # noqa: PLC0415

    for module in MODULES:
        registered = set(_subcommands(_parser(module)) or ())
        assert registered == {name for name, by in REGISTERS.items() if by is module}, module
    assert set(_subcommands(_parser()) or ()) == set(REGISTERS)


@pytest.mark.parametrize("before", [("--help",), ("-v", "--he"), ("--version",)])
def test_an_option_before_the_command_is_the_whole_parsers(before: tuple[str, ...]) -> None:
    result = run(*before, "run")
    assert result.returncode == 0, result.stderr
    if "--version" in before:
        assert result.stdout.startswith("riskwatch ")
    else:  # the help of riskwatch itself: every command, not those of `run`'s module only
        assert "calllist" in result.stdout and "ingest" in result.stdout, result.stdout


def test_a_config_value_named_like_a_command_is_a_value(tmp_path: Path) -> None:
    (tmp_path / "status").write_text('input_folder_path = "in"\n')
    result = run("--config", "status", "models", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["versions"] == [], result.stdout


@pytest.mark.parametrize(("columns", "widest"), [("60", 60), ("120", 120), ("", 80), ("x", 80)])
def test_help_wraps_at_the_columns_the_environment_gives_else_at_80(
    columns: str, widest: int
) -> None:
    # stdout is a pipe here: without COLUMNS (or with a bad one) the width is 80, as shutil's.
    result = run("run", "--help", env={"COLUMNS": columns})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= widest
    assert max(len(line) for line in lines) > widest - 25  # it fills the width, not less
