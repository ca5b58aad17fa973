"""The `riskwatch` command in processes forked from one that has already imported its libraries.

Every command still runs in a process of its own, through the console script's entry point, with
its own arguments, environment, working folder, standard streams and exit code, and ends the way
a Python process ends. What the commands share is the interpreter's start and the imports of
pandas, scikit-learn, SciPy, pyarrow, SQLAlchemy, matplotlib and WeasyPrint: about 1 s of CPU per
command, and the suite runs some 240 of them. The tests that are about the start itself (which
modules a command imports, the console script, signals, a terminal) run the real script.
TESTS_FRESH_PROCESSES=1 runs every command as a fresh `riskwatch` process instead.

Run as a script (`python -P preloaded.py SOCKET`), this module is the server: it imports, says
`ready` on stdout, and for each connection forks a handler, which forks the command's process,
waits for it and answers its exit code (negative: the signal that ended it, as subprocess says).
It stops when its standard input closes (the test process that started it has ended).
"""

from __future__ import annotations

import atexit
import gc
import json
import locale
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

SCRIPT = Path(sys.executable).with_name("riskwatch")  # the console script a command stands for
FRESH = "TESTS_FRESH_PROCESSES"
# What every command may import: loaded once by the server (riskwatch's own modules import them
# inside functions, so the commands import the same modules, only sooner).
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
_server: subprocess.Popen[bytes] | None = None
_socket_path: Path | None = None
_starting = threading.Lock()


def run_command(
    args: list[str], *, cwd: Path | None, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run `riskwatch *args` in a process forked from the server; as subprocess.run would."""
    command = [str(SCRIPT), *args]
    if os.environ.get(FRESH) == "1":
        return subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    path = _server_socket()
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        socket.socket(socket.AF_UNIX) as connection,
    ):
        connection.settimeout(timeout)
        connection.connect(str(path))
        request = {"argv": args, "cwd": str(cwd or Path.cwd()), "env": env}
        socket.send_fds(
            connection, [json.dumps(request).encode() + b"\n"], [out.fileno(), err.fileno()]
        )
        answers = connection.makefile("r")
        pid = int(answers.readline())
        try:
            code = int(answers.readline())
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            raise subprocess.TimeoutExpired(command, timeout, _text(out), _text(err)) from None
        return subprocess.CompletedProcess(command, code, _text(out), _text(err))


def _text(file: Any) -> str:
    """What a command wrote to a stream, decoded as subprocess.run(text=True) decodes it."""
    file.seek(0)
    raw: bytes = file.read()
    text = raw.decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _server_socket() -> Path:
    """The running server's socket; the server is started on first use."""
    global _server, _socket_path  # noqa: PLW0603 - one server per test process
    with _starting:
        if _server is None or _server.poll() is not None:
            _socket_path = Path(tempfile.mkdtemp(prefix="riskwatch-preloaded-")) / "socket"
            _server = subprocess.Popen(
                [sys.executable, "-P", __file__, str(_socket_path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                # No RISKWATCH_* variable: each command brings its own environment.
                env={k: v for k, v in os.environ.items() if not k.startswith("RISKWATCH_")},
            )
            assert _server.stdout is not None
            if _server.stdout.readline() != b"ready\n":
                raise RuntimeError("the preloaded riskwatch server did not start")
            atexit.register(_server.kill)
        assert _socket_path is not None
        return _socket_path


# --- the server side -------------------------------------------------------------------------


def _serve(path: str) -> dict[str, Any]:
    """Accept commands until stdin closes; returns only in a command's own process."""
    import importlib  # noqa: PLC0415
    import selectors  # noqa: PLC0415

    for name in PRELOAD:
        importlib.import_module(name)
    from riskwatch.reporting.pdf import _weasyprint  # noqa: PLC0415 - its own careful import

    _weasyprint()
    gc.freeze()  # the imported objects are never collected: fewer pages copied in each command
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # handlers are reaped by the kernel
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    waiting = selectors.DefaultSelector()
    waiting.register(listener, selectors.EVENT_READ)
    waiting.register(sys.stdin, selectors.EVENT_READ)
    while True:
        ready = {key.fileobj for key, _ in waiting.select()}
        if sys.stdin in ready:  # the test process has gone: so does the server
            os._exit(0)
        connection, _ = listener.accept()
        if os.fork() == 0:
            waiting.close()
            listener.close()
            return _handle(connection)
        connection.close()


def _handle(connection: socket.socket) -> dict[str, Any]:
    """Fork the command's process, answer its pid and then its exit code; returns in the command."""
    message, fds, _, _ = socket.recv_fds(connection, 1 << 16, 2)
    while not message.endswith(b"\n"):  # a large environment may come in several pieces
        message += connection.recv(1 << 16)
    request: dict[str, Any] = json.loads(message)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    pid = os.fork()
    if pid == 0:
        connection.close()
        request["fds"] = fds
        return request
    for fd in fds:
        os.close(fd)
    connection.sendall(f"{pid}\n".encode())
    _, status = os.waitpid(pid, 0)
    connection.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
    os._exit(0)


def _become_command(request: dict[str, Any]) -> None:
    """Make this process `riskwatch` as started in the request's folder, environment, streams."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.close(stdin)
    for target, fd in zip((1, 2), request["fds"], strict=True):
        os.dup2(fd, target)
        os.close(fd)
    sys.argv = [str(SCRIPT), *request["argv"]]
    sys.path[0:0] = [str(SCRIPT.parent)]  # where the console script's own path would be


def _run_and_exit() -> None:
    """Run the console script's entry point, then end as Python ends a process, but sooner.

    An interpreter's finalization frees every object: in a forked process that copies each
    page of the libraries the server imported (0.7 s a command). Its steps a command can see
    are kept: non-daemon threads joined, atexit functions run, streams flushed, the code."""
    import atexit  # noqa: PLC0415
    import traceback  # noqa: PLC0415

    from riskwatch.cli import run  # noqa: PLC0415

    try:
        run()
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except KeyboardInterrupt:
        code = -signal.SIGINT
    except BaseException:  # printed, and exit code 1, as Python does at the top
        traceback.print_exc()
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # what Python runs before atexit
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    if code < 0:  # ended by a signal, as Python ends on an uncaught KeyboardInterrupt
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
    _become_command(_serve(sys.argv[1]))
    _run_and_exit()
