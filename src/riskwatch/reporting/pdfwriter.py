"""The report's PDF, written by a child process started before the plots are drawn.

Importing WeasyPrint and loading its fonts takes about a second of one core; a cycle uses one
of the machine's cores, so the child does that beside the parent's drawing, then renders the
HTML it is handed. The parent waits for the PDF before the report folder is committed."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from riskwatch.reporting.gather import ReportError

logger = logging.getLogger(__name__)
CHILD = Path(__file__).with_name("pdfchild.py")
TIMEOUT = 300.0  # seconds for the PDF once the HTML is ready; a report takes one or two


class PdfWriter:
    """A child process that imports WeasyPrint at once and writes one PDF when handed the HTML."""

    def __init__(self) -> None:
        # -P: the script's folder (this package) is not put on the child's path, so no module
        # of ours can stand in for one WeasyPrint imports; the environment is the parent's.
        self._child = subprocess.Popen(  # noqa: S603  # our own interpreter and script
            [sys.executable, "-P", str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def __enter__(self) -> PdfWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, html: Path, pdf: Path) -> None:
        """Render the HTML file to the PDF file; a ReportError says why when it cannot."""
        request = json.dumps({"html": str(html), "pdf": str(pdf)}) + "\n"
        try:
            _, told = self._child.communicate(request, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.close()
            raise ReportError(f"writing the PDF took more than {TIMEOUT:.0f} s; stopped") from None
        lines = told.strip().splitlines()
        if self._child.returncode != 0 or not pdf.is_file():
            reason = lines[-1] if lines else f"exit code {self._child.returncode}"
            raise ReportError(f"the PDF could not be written: {reason}")
        for line in lines:  # WeasyPrint's own warnings, e.g. about a font
            logger.debug("PDF writer: %s", line)

    def close(self) -> None:
        """Stop the child if it is still running (the report failed before its HTML was ready)."""
        if self._child.poll() is None:
            self._child.kill()
        for stream in (self._child.stdin, self._child.stderr):
            if stream:
                stream.close()
        self._child.wait()

    def stopped(self) -> bool:
        """Whether the child process has ended."""
        return self._child.poll() is not None
