"""What importing the report costs a cycle: no plotting or PDF library until a report is drawn."""

from __future__ import annotations

import subprocess
import sys


def test_the_cycle_imports_matplotlib_and_weasyprint_only_when_it_draws_a_report() -> None:
    probe = (
        "import sys\n"
        "import riskwatch.fullprocess.steps, riskwatch.reporting\n"
        "names = ('matplotlib', 'weasyprint', 'PIL')\n"
        "sys.stderr.write(f'LOADED={sorted(m for m in names if m in sys.modules)}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "LOADED=[]" in result.stderr, result.stderr
