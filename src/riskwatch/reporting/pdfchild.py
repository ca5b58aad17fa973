"""The PDF writer's child process: import WeasyPrint, then write the PDF it is sent.

Run as a script (`python -P pdfchild.py`), not as part of the package, so that it imports
WeasyPrint and the standard library only; see pdfwriter.py."""

from __future__ import annotations

import ctypes.util
import importlib
import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _weasyprint() -> Any:
    """WeasyPrint, imported by name: it ships no type information."""
    with warnings.catch_warnings():
        # Without the system's HarfBuzz-Subset library WeasyPrint subsets fonts with fontTools
        # (slower, same PDF) and warns on import that a future version will need the library.
        warnings.filterwarnings("ignore", "HarfBuzz-Subset", DeprecationWarning)
        try:
            with _no_library_search():
                return importlib.import_module("weasyprint")
        except OSError:  # a system whose libraries only the search finds
            return importlib.import_module("weasyprint")


@contextmanager
def _no_library_search() -> Iterator[None]:
    """Libraries loaded by their file names only, while WeasyPrint is imported.

    WeasyPrint tries several names per library; for each name that is not a file name, cffi
    asks ctypes.util.find_library, which runs ldconfig, gcc and ld: about 100 processes, most of
    the import's wall time. Its list also holds the file names (libpango-1.0.so.0 and the
    like), which the system's loader finds directly."""
    search = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        yield
    finally:
        ctypes.util.find_library = search


def main() -> int:
    """Wait for one request (a line of JSON: html and pdf paths) and write that PDF."""
    try:
        weasyprint = _weasyprint()
        line = sys.stdin.readline()
        if not line:  # the parent gave up before its HTML was ready
            return 0
        request = json.loads(line)
        html = Path(request["html"]).read_text(encoding="utf-8")
        # No base URL: the HTML is self-contained (data URIs), so nothing is fetched from anywhere.
        weasyprint.HTML(string=html).write_pdf(request["pdf"])
    except Exception as exc:  # any failure goes to the parent as one clear line
        sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
