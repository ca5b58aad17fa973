"""The master's row hashes kept beside it (finaldata.rowhashes): appends hash new rows only."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from riskwatch.ingestion.stored import StoredMaster

MASTER_HASHES = "finaldata.rowhashes"
DIGEST_KEY = b"riskwatch.row_hashes"  # in the Parquet master's schema metadata
MAGIC = b"riskwatch row hashes 1\n"


def digest(parts: list[np.ndarray[Any, Any]]) -> bytes:
    """The fingerprint that ties a hash file to the Parquet master written with it.

    parts: the hashes in pieces, one after the other (never joined: 30 MiB at 3,800,000 rows)."""
    fingerprint = hashlib.sha256()
    for part in parts:
        fingerprint.update(np.ascontiguousarray(part, dtype="<u8").data)
    return fingerprint.hexdigest().encode()


def stored_hashes(folder: Path, master: pa.Table | StoredMaster) -> np.ndarray[Any, Any] | None:
    """The master's row hashes (without its batch column) if written with it, else None."""
    # The Parquet file carries the hashes' fingerprint: a master rewritten by another tool (or
    # a crash between the two renames) leaves a file that does not match, and is hashed anew.
    expected = (master.schema.metadata or {}).get(DIGEST_KEY)
    if expected is None:
        return None
    try:
        with (folder / MASTER_HASHES).open("rb") as handle:
            if handle.readline() != MAGIC or handle.readline().strip() != expected:
                return None
            hashes = np.fromfile(handle, dtype="<u8")
    except OSError:
        return None
    return hashes.astype(np.uint64, copy=False) if len(hashes) == master.num_rows else None


def write_hashes(temporary: Path, parts: list[np.ndarray[Any, Any]], fingerprint: bytes) -> None:
    """Write the hash file (to a temporary path renamed by the caller), its parts in order."""
    with temporary.open("wb") as handle:
        handle.write(MAGIC + fingerprint + b"\n")
        for part in parts:
            np.ascontiguousarray(part, dtype="<u8").tofile(handle)
