"""The report's PDF by WeasyPrint, imported for the first PDF, with no library search."""

from __future__ import annotations

import contextlib
import ctypes.util
import functools
import importlib
import io
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The first import swaps process-wide state (ctypes' search, stdout): one thread at a time, or
# a second one would save the first one's stand-ins and put them back for good.
_IMPORTING = threading.Lock()


def render_pdf(html: str, target: Path) -> None:
    """Render the report's HTML to a PDF file with WeasyPrint."""
    # No base URL: the HTML is self-contained (data URIs), so nothing is fetched from anywhere.
    with _IMPORTING:
        weasyprint = _weasyprint()
    weasyprint.HTML(string=html).write_pdf(target)


@functools.cache  # imported once per process: the search is switched off for the first import only
def _weasyprint() -> Any:
    """WeasyPrint, imported here and by name: it is slow to import and ships no type information."""
    with warnings.catch_warnings():
        # Without the system's HarfBuzz-Subset library WeasyPrint subsets fonts with fontTools
        # (slower, same PDF) and warns on import that a future version will need the library.
        warnings.filterwarnings("ignore", "HarfBuzz-Subset", DeprecationWarning)
        try:
            # Quiet: WeasyPrint prints its troubleshooting text on stdout before it fails.
            with _no_library_search(), contextlib.redirect_stdout(io.StringIO()):
                return importlib.import_module("weasyprint")
        except OSError:  # a system whose libraries only the search finds
            return importlib.import_module("weasyprint")


@contextlib.contextmanager
def _no_library_search() -> Iterator[None]:
    """Libraries loaded by their file names only, while WeasyPrint is first imported.

    WeasyPrint tries several names per library; for each name that is not a file name, cffi
    asks ctypes.util.find_library, which runs ldconfig, gcc and ld: about 100 processes, a third
    of the import's wall time (more on a busy machine). Its list also holds the file names
    (libpango-1.0.so.0 and the like), which the system's loader finds directly."""
    search = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        yield
    finally:
        ctypes.util.find_library = search
