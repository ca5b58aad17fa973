"""A setting's value: converted to its declared type, checked against its range, anchored."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from riskwatch.config_values import MAX_INTEGER, check_range, convert, resolve_sqlite_url


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        (bool, "yes", True),
        (bool, "OFF", False),
        (int, " 42 ", 42),
        (float, "0.25", 0.25),
        (tuple[str, ...], "*.csv, *.parquet,", ("*.csv", "*.parquet")),
        (Path, "models", Path("models")),
        (Literal["folder", "database"], "database", "database"),
    ],
)
def test_text_from_the_environment_becomes_the_declared_type(
    kind: object, text: str, value: object
) -> None:
    assert convert(kind, text, from_text=True) == value


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (bool, "yes", "must be true or false"),  # only the environment's text is parsed
        (int, True, "must be a whole number"),
        (int, MAX_INTEGER + 1, "must be at most"),
        (float, float("inf"), "must be a finite number"),
        (Literal["folder", "database"], "ftp", "must be one of folder, database"),
        (tuple[str, ...], [1, 2], "must be a list of strings"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_saying_what_it_must_be(
    kind: object, value: object, message: str
) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        convert(kind, value, from_text=False)


def test_a_number_outside_its_range_is_refused() -> None:
    check_range(0.5, {"minimum": 0.0, "maximum": 1.0})
    with pytest.raises(ValueError, match="must be at least 1, got 0"):
        check_range(0, {"minimum": 1, "maximum": None})
    with pytest.raises(ValueError, match=r"must be at most 1\.0, got 1\.5"):
        check_range(1.5, {"minimum": 0.0, "maximum": 1.0})


def test_only_a_relative_sqlite_path_is_anchored_in_the_workspace(tmp_path: Path) -> None:
    assert resolve_sqlite_url("sqlite:///r.db?timeout=5", tmp_path) == (
        f"sqlite:///{tmp_path}/r.db?timeout=5"
    )
    for url in ("sqlite:///:memory:", "sqlite:////abs/r.db", "postgresql://h/db", "sqlite:///"):
        assert resolve_sqlite_url(url, tmp_path) == url
