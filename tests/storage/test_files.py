"""The atomic-write helpers: whole files or none, with the permissions of any new file."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from riskwatch.storage.files import atomic_path, write_json_atomic, write_text_atomic


@pytest.fixture(params=[0o022, 0o027, 0o077])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """This process's umask set to the parameter for one test, then restored."""
    previous = os.umask(request.param)
    try:
        yield int(request.param)
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    """A file's permission bits."""
    return stat.S_IMODE(path.stat().st_mode)


def test_every_atomic_write_gets_0666_less_the_umask(tmp_path: Path, umask: int) -> None:
    # The call list, API returns and quarantine files were 0600 (mkstemp's private default)
    # while the reports beside them were 0644: one policy now, the umask's, like any file.
    write_text_atomic(tmp_path / "apireturns.txt", "returns\n")
    write_json_atomic(tmp_path / "apireturns.json", {"calls": []})
    with atomic_path(tmp_path / "calllist.csv") as temporary:
        temporary.write_text("rank,corporation\n", encoding="utf-8")
    for name in ("apireturns.txt", "apireturns.json", "calllist.csv"):
        assert mode(tmp_path / name) == 0o666 & ~umask, name


def test_replacing_a_private_file_gives_it_the_policy(tmp_path: Path, umask: int) -> None:
    target = tmp_path / "calllist.csv"
    target.write_text("old\n")
    target.chmod(0o600)
    write_text_atomic(target, "new\n")
    assert (target.read_text(), mode(target)) == ("new\n", 0o666 & ~umask)


def test_failed_block_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "calllist.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half\n")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calllist.csv"]


def test_temporary_names_do_not_collide(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    with atomic_path(target) as first, atomic_path(target) as second:
        assert first != second
        assert first.parent == second.parent == tmp_path
        assert first.name.startswith(".a.txt.")
