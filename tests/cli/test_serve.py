"""The serve command through the real `riskwatch` entry point: its port, and a busy one."""

from __future__ import annotations

import socket
from pathlib import Path

from ..conftest import run


def test_a_port_out_of_range_exits_2_naming_the_range(workspace: Path) -> None:
    result = run("serve", "--port", "70000", cwd=workspace)
    assert result.returncode == 2
    assert "70000 is not a port (0 to 65535)" in result.stderr


def test_a_busy_port_exits_1_saying_so_and_how_to_choose_another(workspace: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--port", str(port), cwd=workspace, timeout=180)  # a limit
    assert result.returncode == 1
    assert f"cannot serve on 127.0.0.1:{port}: the port is already in use" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr
