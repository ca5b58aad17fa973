"""Shared by the diagnostics tests: real package-index servers, the classic practice data."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

TIMEOUT = 0.5


class IndexServer(ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1 that records the paths it was asked for."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.asked: list[str] = []
        self.release = threading.Event()  # set at teardown: the stalling handlers end

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/pypi"


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    @property
    def index(self) -> IndexServer:
        assert isinstance(self.server, IndexServer)
        return self.server


class FakeIndex(QuietHandler):
    """PyPI's JSON API in miniature: every package is at 99.0, except skops (404)."""

    def do_GET(self) -> None:
        self.index.asked.append(self.path)
        if self.path == "/pypi/skops/json":
            self.send_error(404)
            return
        body = json.dumps({"info": {"version": "99.0"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SilentIndex(QuietHandler):
    """Accepts the connection and the request, then never answers."""

    def do_GET(self) -> None:
        self.index.release.wait(30)


class TricklingIndex(QuietHandler):
    """Answers, then sends its body a byte at a time, never finishing within the timeout."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        with contextlib.suppress(OSError):  # the client hangs up when it gives up
            while not self.index.release.wait(0.02):
                self.wfile.write(b" ")


@pytest.fixture
def serve() -> Iterator[Callable[[type[BaseHTTPRequestHandler]], IndexServer]]:
    """Start real package-index servers in threads; stop them after the test."""
    started: list[tuple[IndexServer, threading.Thread]] = []

    def start(handler: type[BaseHTTPRequestHandler]) -> IndexServer:
        server = IndexServer(handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


Waiting = Callable[[], list[threading.Thread]]


@pytest.fixture
def waiting_threads() -> Waiting:
    """The threads started during the test that the interpreter would wait for at exit."""
    # Not those already running: under parallel workers another module's session browser
    # (Playwright's event loop threads) may run in the same process.
    before = set(threading.enumerate())

    def waiting() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if not t.daemon and t not in before]

    return waiting


def by_name(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {row["name"]: row for row in rows}
