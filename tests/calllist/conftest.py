"""A demo workspace with a model deployed, built once per session; a copy for each test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ..conftest import Workspace, copy_workspace


@pytest.fixture(scope="module")
def template(deployed_template: Callable[..., Path]) -> Path:
    """Built once per session: a demo workspace with month 1 ingested and a model deployed
    (read only: each test copies it)."""
    return deployed_template(months=2, seed=1)


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    return copy_workspace(template, tmp_path)
