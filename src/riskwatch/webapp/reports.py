"""The kept reports, served read-only: only reports/<time>/report.html or report.pdf, and only
a file that really lies inside reports/ once every symbolic link is resolved."""

from __future__ import annotations

from pathlib import Path

from riskwatch.model.layout import VERSION_PATTERN

SERVED = {"report.html": "text/html; charset=utf-8", "report.pdf": "application/pdf"}
# The report is self-contained (its pictures are data URIs): it may load nothing, run nothing.
POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"


def report_file(reports: Path, folder: str, name: str) -> Path | None:
    """The kept report file a URL names, or None when it names anything else."""
    if name not in SERVED or not VERSION_PATTERN.fullmatch(folder):
        return None
    root = reports.resolve()
    path = (root / folder / name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path
