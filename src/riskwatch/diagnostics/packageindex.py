"""The package index's JSON API, asked for latest versions with a deadline; never raises."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

UNKNOWN = "unknown"
WEB_SCHEMES = ("http", "https")
# PyPI's answer for numpy is about 4 MB (it lists every release); far more is not an index.
MAX_ANSWER_BYTES = 64 * 1024 * 1024


def latest_versions(url: str, names: list[str], timeout: float) -> dict[str, tuple[str, str]]:
    """Each package's latest version on the index, all asked at once; unknown says why."""
    if urllib.parse.urlsplit(url).scheme.lower() not in WEB_SCHEMES:
        reason = f"package_index_url {url!r} refused: only http and https URLs are asked"
        return dict.fromkeys(names, (UNKNOWN, reason))
    deadline = time.monotonic() + timeout
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(len(names), 1))
    asked = {name: pool.submit(_ask, url, name, timeout, deadline) for name in names}
    concurrent.futures.wait(asked.values(), timeout=timeout)
    # Not joined: a thread still waiting gives up by itself within the timeout.
    pool.shutdown(wait=False, cancel_futures=True)
    late = (UNKNOWN, f"timed out after {timeout} s")
    return {n: f.result() if f.done() and not f.cancelled() else late for n, f in asked.items()}


def _ask(url: str, name: str, timeout: float, deadline: float) -> tuple[str, str]:
    """One package's latest version from the index's JSON API, or unknown and why."""
    address = f"{url.rstrip('/')}/{urllib.parse.quote(name)}/json"
    # The scheme is checked above; urllib follows redirects to http, https and ftp only.
    request = urllib.request.Request(address, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            version = json.loads(_read_until(answer, deadline))["info"]["version"]
    except urllib.error.HTTPError as exc:
        exc.close()
        return UNKNOWN, f"HTTP {exc.code}"
    except (OSError, http.client.HTTPException) as exc:
        return UNKNOWN, _why(exc.reason if isinstance(exc, urllib.error.URLError) else exc, timeout)
    except (ValueError, LookupError, TypeError) as exc:
        return UNKNOWN, f"not a package index answer: {str(exc)[:100]}"
    if not isinstance(version, str) or not version:
        return UNKNOWN, "not a package index answer: no info.version"
    return version, ""


def _read_until(answer: http.client.HTTPResponse, deadline: float) -> bytes:
    """The body, given up once the deadline passes (each read alone only has the timeout)."""
    blocks, size = [], 0
    # read1 returns what one receive brings: read(n) would wait for n bytes of a trickle.
    while block := answer.read1(1 << 16):
        size += len(block)
        if time.monotonic() > deadline:
            raise TimeoutError
        if size > MAX_ANSWER_BYTES:
            raise ValueError(f"over {MAX_ANSWER_BYTES:,} bytes")
        blocks.append(block)
    return b"".join(blocks)


def _why(reason: object, timeout: float) -> str:
    if isinstance(reason, TimeoutError):
        return f"timed out after {timeout} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return f"host not found ({reason.strerror})"
    return str(reason)[:200] or type(reason).__name__
