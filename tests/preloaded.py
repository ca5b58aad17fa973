"""The `riskwatch` command in processes forked from one that has already imported its libraries.

Every command still runs in a process of its own, through the console script's entry point, with
its own arguments, `os.environ`, working folder, standard streams (stdin empty) and exit code
(negative: the signal that ended it); at its end non-daemon threads are joined, atexit functions
run and the streams flushed, but objects still alive are not finalized. What the commands share
is the interpreter's start and the imports of pandas, scikit-learn, SciPy, pyarrow, SQLAlchemy,
matplotlib and WeasyPrint (about 1 s of CPU per command; the suite runs some 240), and so what is
read at start or import: the hash seed, numpy's global random state (riskwatch seeds its own),
and variables such as PYTHON*, LANG, TZ or OMP_NUM_THREADS. A command asked with any of those
set otherwise than the server had them runs as a fresh `riskwatch` process, as every command
does with TESTS_FRESH_PROCESSES=1. The tests about start-up itself (which modules a command
imports, signals, a terminal) run the real script.

The server is tests/preloaded_server.py, one per test process, started on first use.
"""

from __future__ import annotations

import atexit
import json
import locale
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

SCRIPT = Path(sys.executable).with_name("riskwatch")  # the console script a command stands for
FRESH = "TESTS_FRESH_PROCESSES"
# Read when Python starts or a library loads: a command asking for other values needs a fresh
# process (the server could not give them).
AT_START = ("PYTHON", "LANG", "LC_", "TZ", "OMP_", "OPENBLAS_", "MKL_", "MPL", "SOURCE_DATE")
START_SECONDS = 120.0
SERVER_SCRIPT = Path(__file__).with_name("preloaded_server.py")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without RISKWATCH_* variables (a developer's own), plus the given ones."""
    return {k: v for k, v in os.environ.items() if not k.startswith("RISKWATCH_")} | extra


class Server:
    """The server of one test process, started on first use with the environment of import."""

    def __init__(self) -> None:
        self.environment = clean_env()  # now: not whatever a test has patched at first use
        self.owner = os.getpid()  # a process forked by a test has no server of its own
        self.name = ""  # of the running server's abstract socket (Linux): no file left behind
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path()  # the running server's stderr
        self.lock = threading.Lock()

    def address(self) -> str:
        """The running server's socket name; the server is started if it is not running."""
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self.process = self._start()
            return "\0" + self.name

    def serves(self, env: dict[str, str]) -> bool:
        """Whether a command with this environment can be forked from the server."""
        return os.getpid() == self.owner and all(
            env.get(key) == self.environment.get(key)
            for key in {*env, *self.environment}
            if key.startswith(AT_START)
        )

    def _start(self) -> subprocess.Popen[bytes]:
        """Start the server and wait for its `ready`; RuntimeError with its log if it fails."""
        # A new name each start: a server taken for ended (a test reaped it) may still listen.
        self.name = f"riskwatch-preloaded-{os.getpid()}-{os.urandom(4).hex()}"
        self.log = Path(tempfile.gettempdir()) / f"{self.name}.log"
        with self.log.open("wb") as errors:  # its tracebacks, not in some test's captured output
            process = subprocess.Popen(
                [sys.executable, "-P", str(SERVER_SCRIPT), self.name],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=self.environment,
            )
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_SECONDS)
        if not ready or process.stdout.readline() != b"ready\n":
            process.kill()
            process.wait()
            process.stdout.close()
            raise RuntimeError(f"the preloaded riskwatch server did not start: see {self.log}")
        atexit.register(self.stop)  # pytest-xdist's workers may end without atexit: see stop
        return process

    def stop(self) -> None:
        """Close its input and wait (so its commands' CPU is counted); kill it if it lingers.
        Its log is kept only when it says something."""
        with self.lock:
            process, self.process = self.process, None
        if process is None or os.getpid() != self.owner:
            return
        assert process.stdin is not None and process.stdout is not None
        process.stdout.close()
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self.log.exists() and not self.log.stat().st_size:
            self.log.unlink()


_SERVER = Server()


def stop_server() -> None:
    """Stop this test process's server, if it runs (at the end of the session)."""
    _SERVER.stop()


def run_command(
    args: list[str], *, cwd: Path | None, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run `riskwatch *args` in a process forked from the server; as subprocess.run would."""
    if os.environ.get(FRESH) == "1" or not _SERVER.serves(env):
        return fresh_command(args, cwd=cwd, env=env, timeout=timeout)
    command = [str(SCRIPT), *args]
    folder = Path(cwd) if cwd is not None else Path.cwd()
    if not folder.is_dir():  # as subprocess.run says it
        raise FileNotFoundError(2, "No such file or directory", str(folder))
    deadline = time.monotonic() + timeout
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        socket.socket(socket.AF_UNIX) as connection,
    ):
        connection.settimeout(timeout)
        connection.connect(_SERVER.address())
        # The streams go with one byte, then the request whole (a send may take part of it).
        socket.send_fds(connection, [b"\n"], [out.fileno(), err.fileno()])
        request = {"argv": args, "cwd": str(folder), "env": env}
        connection.sendall(json.dumps(request).encode() + b"\n")
        answers = connection.makefile("r")
        pid = _answer(connection, answers, deadline)
        code = _answer(connection, answers, deadline) if pid is not None else None
        if code is None:
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
            raise subprocess.TimeoutExpired(command, timeout, _text(out), _text(err))
        return subprocess.CompletedProcess(command, code, _text(out), _text(err))


def fresh_command(
    args: list[str], *, cwd: Path | None, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run `riskwatch *args` as the console script started afresh."""
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _answer(connection: socket.socket, answers: IO[str], deadline: float) -> int | None:
    """The server's next number, None when the deadline passes first."""
    connection.settimeout(max(deadline - time.monotonic(), 0.001))
    try:
        line = answers.readline()
    except TimeoutError:
        return None
    if not line:
        raise RuntimeError("the preloaded riskwatch server ended a command without its code")
    return int(line)


def _text(file: Any) -> str:
    """What a command wrote to a stream, decoded as subprocess.run(text=True) decodes it."""
    file.seek(0)
    raw: bytes = file.read()
    text = raw.decode(locale.getpreferredencoding(False))
    return text.replace("\r\n", "\n").replace("\r", "\n")
