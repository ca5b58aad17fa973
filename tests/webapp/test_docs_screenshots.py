"""The managers' guide's pictures can be taken from the tests' demo: every page, at 1280 px,
without sideways scrolling, each file small enough to keep in the repository."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .docs_screenshots import WIDTH, take_pictures
from .pages_fixtures import TOKEN, Server

LARGEST = 250_000  # bytes of one picture
PICTURED = ["calllist", "client", "cycles", "data", "models", "overview", "signin"]


def test_every_page_is_pictured_at_1280_px_small_enough_for_the_docs(
    pages_server: Server, browser: Any, tmp_path: Path
) -> None:
    folder = Path(os.environ.get("RISKWATCH_DOCS_IMAGES") or tmp_path)
    taken = take_pictures(browser, pages_server.url, TOKEN, folder)
    assert sorted(taken) == PICTURED
    for name, path in taken.items():
        size = path.stat().st_size
        assert 10_000 < size <= LARGEST, f"{name}.png is {size:,} bytes"
        width = int.from_bytes(path.read_bytes()[16:20], "big")  # the PNG header's width
        assert width == WIDTH, f"{name}.png is {width} px wide"
