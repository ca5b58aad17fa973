"""The report command through the real `riskwatch` entry point, on a workspace with no model.

The report a deployed model gets is tested with the reporting package (tests/reporting/), where
its workspace is built once for all those tests.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..conftest import run


def test_report_without_a_deployed_model_exits_1_saying_what_to_run(workspace: Path) -> None:
    result = run("report", cwd=workspace)
    assert result.returncode == 1
    assert "riskwatch train" in result.stderr and "riskwatch deploy" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (workspace / "reports" / "report.html").exists()


def test_report_with_json_and_no_model_prints_one_error_document(workspace: Path) -> None:
    result = run("report", "--json", cwd=workspace)
    assert result.returncode == 1
    assert "riskwatch train" in json.loads(result.stdout)["error"]
