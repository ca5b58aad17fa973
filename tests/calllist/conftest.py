"""A demo workspace with a model deployed, built once per module; a copy for each test."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..conftest import Workspace, copy_workspace, deployed_demo


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: a demo workspace with month 1 ingested and a model deployed."""
    return deployed_demo(tmp_path_factory.mktemp("template") / "ws", months=2, seed=1)


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    return copy_workspace(template, tmp_path)
