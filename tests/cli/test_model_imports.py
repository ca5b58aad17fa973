"""What the model commands import first: scipy.special before pandas, so skops' import is quick."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ..conftest import Workspace, copy_workspace


@pytest.fixture
def ws(deployed_template: Callable[..., Path], tmp_path: Path) -> Workspace:
    """A private copy of a workspace with a deployed model."""
    return copy_workspace(deployed_template(months=2, seed=5), tmp_path)


def imports_in_order(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a command in a fresh process; its stderr ends with whether scipy.special came
    before pandas (FIRST=) and the exit code (CODE=)."""
    probe = (
        "import sys\n"
        "from riskwatch.cli import main\n"
        f"code = main({list(args)!r})\n"
        "names = list(sys.modules)\n"
        "first = names.index('scipy.special') < names.index('pandas')\n"
        "sys.stderr.write(f'FIRST={first} CODE={code}')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", probe], cwd=ws.path, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("command", ["calllist", "score"])
def test_a_command_loading_the_model_imports_scipy_special_before_pandas(
    ws: Workspace, command: str
) -> None:
    # skops looks for each SciPy special function in every module imported before
    # scipy.special: 0.4 s of CPU after pandas' and scikit-learn's modules, 0.07 s before.
    result = imports_in_order(ws, command, "--json")
    assert "FIRST=True CODE=0" in result.stderr, result.stderr
    assert json.loads(result.stdout)["version"], result.stdout


def test_a_cycle_with_new_data_imports_scipy_special_before_pandas(ws: Workspace) -> None:
    from riskwatch.demo.workspace import release_month  # noqa: PLC0415 - heavy

    release_month(ws.path, 2)
    result = imports_in_order(ws, "run", "--json")
    assert "FIRST=True CODE=0" in result.stderr, result.stderr[-2000:]
    assert json.loads(result.stdout)["outcome"] != "failed", result.stdout
