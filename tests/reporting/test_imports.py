"""What importing the report costs a cycle: no plotting or PDF library until a report is drawn."""

from __future__ import annotations

from .conftest import probe


def test_the_cycle_imports_matplotlib_and_weasyprint_only_when_it_draws_a_report() -> None:
    code = (
        "import sys\n"
        "import riskwatch.fullprocess.steps, riskwatch.reporting\n"
        "names = ('matplotlib', 'weasyprint', 'PIL')\n"
        "sys.stderr.write(f'LOADED={sorted(m for m in names if m in sys.modules)}')\n"
    )
    told = probe(code)
    assert "LOADED=[]" in told, told
