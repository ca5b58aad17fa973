"""A folder source: which files are data, their hashes, and what is new."""

from __future__ import annotations

import os

import pytest

from riskwatch.ingestion import check, ingest

from ..conftest import csv_rows
from .conftest import AddFile, MakeSettings


def test_unchanged_size_and_mtime_are_not_rehashed(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    path = add_file("a.csv", csv_rows("x,1,12,3,0"))
    settings = make_settings()
    ingest(settings)
    stat = path.stat()
    path.write_text(csv_rows("q,1,12,3,0"))  # same size: only a re-hash would notice
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert check(settings).new == []
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert [b.name for b in check(settings).new] == ["a.csv"]


def test_hashes_a_check_took_are_kept_for_the_next_check(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    path = add_file("a.csv", csv_rows("x,1,12,3,0"))
    settings = make_settings()
    ingest(settings, found=check(settings))  # as a cycle ingests: what its check found
    assert check(settings).new == []  # no new data: the file was hashed once more, and kept
    stat = path.stat()
    path.write_text(csv_rows("q,1,12,3,0"))  # same size and mtime: only a re-hash would notice
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert check(settings).new == []


def test_hidden_and_temporary_files_are_not_data(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    add_file("a.csv", csv_rows("x,1,12,3,0"))
    add_file(".a.csv", csv_rows("y,1,12,3,0"))
    add_file("~a.csv", csv_rows("z,1,12,3,0"))
    add_file("notes.txt", "not data")
    assert [b.name for b in check(make_settings()).new] == ["a.csv"]


def test_a_missing_source_folder_is_a_clear_error(make_settings: MakeSettings) -> None:
    settings = make_settings(input_folder_path="nowhere")
    with pytest.raises(FileNotFoundError, match=r"the source folder .*nowhere does not exist"):
        ingest(settings)


def test_a_new_batch_carries_the_hash_of_its_content(
    make_settings: MakeSettings, add_file: AddFile
) -> None:
    one = add_file("one.csv", csv_rows("x,1,12,3,0"))
    add_file("two.csv", one.read_bytes())
    [first, second] = check(make_settings()).new
    assert first.sha256 == second.sha256
    assert len(first.sha256) == 64
