"""The report's PDF writer: a child process that writes the PDF of the HTML it is handed."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskwatch.reporting import ReportError
from riskwatch.reporting.pdfwriter import PdfWriter

from .test_report import pdf_text, squeezed

HTML = "<html><body><h1>Clients to call</h1><p>client &lt;42&gt; first</p></body></html>"


def test_the_pdf_writer_writes_the_pdf_of_the_html_it_is_handed(tmp_path: Path) -> None:
    html, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    html.write_text(HTML, encoding="utf-8")
    with PdfWriter() as writer:
        writer.write(html, pdf)
    written = pdf.read_bytes()
    assert written.startswith(b"%PDF-")
    assert squeezed("Clients to call client <42> first") in squeezed(pdf_text(written))


def test_a_pdf_that_cannot_be_written_is_a_report_error_saying_why(tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    html.write_text(HTML, encoding="utf-8")
    with PdfWriter() as writer, pytest.raises(ReportError) as caught:
        writer.write(html, tmp_path / "no such folder" / "report.pdf")
    assert "the PDF could not be written: FileNotFoundError" in str(caught.value)
    assert "no such folder" in str(caught.value)


def test_a_pdf_writer_left_before_its_html_is_ready_stops_its_child(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="drawing failed"), PdfWriter() as writer:
        raise ValueError("drawing failed")
    assert writer.stopped()
