"""Small file helpers: write-then-rename so a crash never leaves a file half-written."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FILE_MODE = 0o666  # before the umask: what any program gives a file it creates


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside target that replaces target only if the block succeeds.

    The file gets the permissions of any file the user creates (0666 less the umask), whatever
    riskwatch writes in it: call lists, API returns, quarantine files and reports alike.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = _new_file(target)
    try:
        yield temporary
        fsync_file(temporary)
        temporary.replace(target)
        fsync_folder(target.parent)
    finally:
        temporary.unlink(missing_ok=True)


def _new_file(target: Path) -> Path:
    """A new, empty, uniquely named file beside target, created with mode 0666 less the umask."""
    # Not tempfile.mkstemp: it makes every file private (0600), so a call list was unreadable
    # to the managers' group while the report beside it was not. Here the kernel applies the
    # umask, as for any file; reading the umask instead (os.umask) would change it for a moment
    # in every thread of the process.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        # os.urandom(6).hex() is secrets.token_hex(6); secrets would import random, hmac and
        # hashlib on the path cron takes most (no new data), for a name nobody guesses anyway.
        path = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
        try:
            os.close(os.open(path, flags, FILE_MODE))
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{target.parent}: no free temporary name for {target.name}")


def write_text_atomic(target: Path, text: str) -> None:
    """Replace target's content with text, atomically."""
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")


def write_json_atomic(target: Path, data: Any) -> None:
    """Replace target with data as indented JSON, atomically."""
    write_text_atomic(target, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    """The JSON content of a file, or None when it is missing or not valid JSON (a lost cache)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def fsync_file(path: Path) -> None:
    """Make a file's content durable."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def sha256_file(path: Path) -> str:
    """The sha256 of a file's content, read in blocks."""
    # Imported here: loading OpenSSL's hashlib takes ~4 ms, and a cycle with no new data (the
    # one cron runs most) hashes nothing.
    import hashlib  # noqa: PLC0415

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_folder(folder: Path) -> None:
    """Make renames in a folder durable."""
    # The rename itself is durable only once the folder's entry is on disk.
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def shown_path(path: Path, workspace: Path) -> str:
    """A path as a person finds it: relative to the workspace when it lies inside it."""
    try:
        return path.resolve().relative_to(workspace.resolve()).as_posix()
    except ValueError:
        return str(path)
