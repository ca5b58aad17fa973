"""The package index asked for latest versions: answered, refused or late, it never raises."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
from collections.abc import Iterator

import pytest

from riskwatch.diagnostics.packageindex import UNKNOWN, latest_versions


class _Index(http.server.BaseHTTPRequestHandler):
    """A stand-in for PyPI's JSON API: a few known packages, one that answers too late."""

    def do_GET(self) -> None:
        name = self.path.split("/")[-2]  # /pypi/<name>/json
        if name == "slow":
            time.sleep(2)
        if name == "broken":
            body = b"<html>not json</html>"
        elif name in ("pandas", "slow"):
            body = json.dumps({"info": {"version": "2.2.3"}}).encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the asker gave up
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is for the asserts."""


@pytest.fixture(scope="module")
def index() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pypi"
    server.shutdown()
    server.server_close()


def test_a_known_package_gets_its_latest_version(index: str) -> None:
    assert latest_versions(index, ["pandas"], timeout=5) == {"pandas": ("2.2.3", "")}


def test_an_unknown_package_is_unknown_with_the_http_status(index: str) -> None:
    assert latest_versions(index, ["nosuch"], timeout=5) == {"nosuch": (UNKNOWN, "HTTP 404")}


def test_an_answer_that_is_no_index_answer_is_unknown_and_says_so(index: str) -> None:
    version, why = latest_versions(index, ["broken"], timeout=5)["broken"]
    assert version == UNKNOWN
    assert why.startswith("not a package index answer")


def test_a_late_answer_is_unknown_after_the_timeout_and_the_others_still_count(
    index: str,
) -> None:
    started = time.monotonic()
    found = latest_versions(index, ["slow", "pandas"], timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert found["slow"][0] == UNKNOWN and "timed out" in found["slow"][1]
    assert found["pandas"] == ("2.2.3", "")


def test_a_refused_connection_and_a_non_web_url_are_unknown_without_raising() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Index)
    port = server.server_address[1]
    server.server_close()  # nothing listens there any more
    refused = latest_versions(f"http://127.0.0.1:{port}/pypi", ["pandas"], timeout=2)
    assert refused == {"pandas": (UNKNOWN, "connection refused")}
    local = latest_versions("file:///etc", ["pandas"], timeout=2)
    assert local["pandas"][0] == UNKNOWN and "only http and https" in local["pandas"][1]
