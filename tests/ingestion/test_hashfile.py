"""The master's kept row hashes: written in parts, read back whole, tied to their master."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from riskwatch.ingestion.hashfile import digest, write_hashes


def test_hashes_written_in_parts_are_the_file_and_fingerprint_of_them_whole(
    tmp_path: Path,
) -> None:
    hashes = np.arange(10, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    parts = [hashes[:3], hashes[3:3], hashes[3:]]

    write_hashes(tmp_path / "parts", parts, digest(parts))
    write_hashes(tmp_path / "whole", [hashes], digest([hashes]))

    assert digest(parts) == digest([hashes])
    assert (tmp_path / "parts").read_bytes() == (tmp_path / "whole").read_bytes()
