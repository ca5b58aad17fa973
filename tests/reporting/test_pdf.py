"""The report's PDF: WeasyPrint's text, and its import with no search for its libraries."""

from __future__ import annotations

from pathlib import Path

from riskwatch.reporting.pdf import render_pdf

from .conftest import probe
from .test_report import pdf_text, squeezed


def test_the_pdf_shows_the_text_of_the_html(tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    render_pdf("<h1>Clients to call</h1><p>client &lt;42&gt; first</p>", target)
    written = target.read_bytes()
    assert written.startswith(b"%PDF-")
    assert squeezed("Clients to call client <42> first") in squeezed(pdf_text(written))


def test_weasyprint_is_imported_without_running_a_program_to_find_its_libraries() -> None:
    # ctypes' search runs ldconfig, gcc and ld for each library name it is asked about.
    code = (
        "import subprocess, sys, ctypes.util\n"
        "started = []\n"
        "popen = subprocess.Popen.__init__\n"
        "def counted(self, *args, **kwargs):\n"
        "    started.append(args)\n"
        "    popen(self, *args, **kwargs)\n"
        "subprocess.Popen.__init__ = counted\n"
        "from riskwatch.reporting.pdf import _weasyprint\n"
        "_weasyprint()\n"
        "restored = ctypes.util.find_library.__name__ == 'find_library'\n"
        "sys.stderr.write(f'STARTED={len(started)} RESTORED={restored}')\n"
    )
    told = probe(code)
    assert "STARTED=0 RESTORED=True" in told, told
