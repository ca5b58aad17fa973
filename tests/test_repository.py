"""The repository stands alone: its tests pass in any clone, with nothing beside it."""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import CLASSIC

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
OUTSIDE = re.compile(r"\.\./shared|parents\[[2-9]\]")


def test_the_classic_fixture_is_inside_the_repository() -> None:
    assert CLASSIC.is_relative_to(ROOT)
    assert (CLASSIC / "config.json").is_file()
    assert sorted(p.name for p in (CLASSIC / "practicedata").glob("*.csv")) == [
        "dataset1.csv",
        "dataset2.csv",
    ]


def test_no_test_reads_a_path_beside_the_repository() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in TESTS.rglob("*.py")
        if path.name != Path(__file__).name
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []
