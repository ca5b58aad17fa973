"""The server of tests/preloaded.py: imports riskwatch's libraries once, forks each command.

Run as `python -P preloaded_server.py NAME` (no folder put on sys.path: tests/ holds packages
named like real ones). It imports, says `ready` on stdout and listens on the abstract socket
NAME; for each connection it forks a handler, which forks the command's process, answers its
pid, waits for it and answers its exit code. It stops when its standard input closes (the test
process has ended), once its commands have ended: waited for, their CPU is counted.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

SCRIPT = Path(sys.executable).with_name("riskwatch")  # the console script a command stands for
# What every command may import: loaded once here (riskwatch's own modules import them inside
# functions, so the commands import the same modules, only sooner).
PRELOAD = (
    "numpy",
    "pandas",
    "scipy.stats",
    "scipy.special",
    "sklearn.ensemble",
    "sklearn.linear_model",
    "sklearn.metrics",
    "sklearn.calibration",
    "sklearn.model_selection",
    "pyarrow.parquet",
    "pyarrow.csv",
    "sqlalchemy",
    "skops.io",
    "matplotlib.figure",
    "matplotlib.backends.backend_agg",
    "PIL.Image",
    "jinja2",
    "fastapi",
    "uvicorn",
    "riskwatch.cli",
)
LAST_COMMANDS_SECONDS = 60.0  # how long, once told to stop, commands still running may take


def serve(name: str) -> dict[str, Any]:
    """Accept commands until stdin closes; returns only in a command's own process."""
    for module in PRELOAD:
        importlib.import_module(module)
    from riskwatch.reporting.pdf import _weasyprint  # noqa: PLC0415 - its own careful import

    _weasyprint()
    gc.freeze()  # the imported objects are never collected: fewer pages copied in each command
    listener = socket.socket(socket.AF_UNIX)
    listener.bind("\0" + name)
    listener.listen(64)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [], 1.0)
        _reap(until=0.0)
        if sys.stdin in readable:  # the test process has gone: so does the server
            _reap(until=time.monotonic() + LAST_COMMANDS_SECONDS)
            os._exit(0)
        if listener in readable:
            connection, _ = listener.accept()
            if os.fork() == 0:
                listener.close()
                return _handle(connection)
            connection.close()


def _reap(until: float) -> None:
    """Wait for the handlers that ended; with a time ahead, for all of them until then."""
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if until > time.monotonic() else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if until <= time.monotonic():
                return
            time.sleep(0.05)


def _handle(connection: socket.socket) -> dict[str, Any]:
    """Fork the command's process, answer its pid and then its exit code; returns in the command."""
    _, fds, _, _ = socket.recv_fds(connection, 1, 2)
    line = connection.makefile("rb").readline()
    if len(fds) != 2 or not line.endswith(b"\n"):  # the test left before asking in full
        os._exit(1)
    request: dict[str, Any] = json.loads(line)
    pid = os.fork()
    if pid == 0:
        connection.close()
        request["fds"] = fds
        return request
    for fd in fds:
        os.close(fd)
    # A test that timed out has closed its end: nobody is left to answer.
    with contextlib.suppress(OSError):
        connection.sendall(f"{pid}\n".encode())
    _, status = os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    os._exit(0)


def become_command(request: dict[str, Any]) -> None:
    """Make this process `riskwatch` as started in the request's folder, environment, streams."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.close(stdin)
    for target, fd in zip((1, 2), request["fds"], strict=True):
        os.dup2(fd, target)
        os.close(fd)
    sys.argv = [str(SCRIPT), *request["argv"]]
    sys.path[0:0] = [str(SCRIPT.parent)]  # where the console script's own path would be


def run_and_exit() -> None:
    """Run the console script's entry point, then end as Python ends a process, but sooner.

    An interpreter's finalization frees every object: in a forked process that copies each
    page of the libraries the server imported (0.7 s a command). Its steps a command can see
    are kept: non-daemon threads joined, atexit functions run, streams flushed, the code."""
    import atexit  # noqa: PLC0415
    import traceback  # noqa: PLC0415

    from riskwatch.cli import run  # noqa: PLC0415

    code = 0
    try:
        run()
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException as exc:  # printed, and exit code 1, as Python does at the top
        traceback.print_exc()
        code = -signal.SIGINT if isinstance(exc, KeyboardInterrupt) else 1
    threading._shutdown()  # type: ignore[attr-defined]  # what Python runs before atexit
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        code = 120  # as Python ends when it cannot flush its streams
    if code < 0:  # Python ends by the signal on an uncaught KeyboardInterrupt
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)


def _exit_code(code: object) -> int:
    """The exit code of SystemExit(code), as Python gives it (text is printed, code 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    become_command(serve(sys.argv[1]))
    run_and_exit()
