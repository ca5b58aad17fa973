"""The managers' guide's pictures (docs/images/*.png): each page of a served demo at 1280 px,
the top of the page only, so that each file stays small.

Regenerate them with the tests' demo (a `riskwatch serve` with a token, see pages_fixtures):
    RISKWATCH_DOCS_IMAGES=docs/images .venv/bin/pytest -q tests/webapp/test_docs_screenshots.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

WIDTH = 1280
TALLEST = 1400  # px of a page kept: the part a reader sees first, and a file under 250 KB
# (name, address under /app/, what must be drawn first) of each picture, in the guide's order.
PAGES = [
    ("overview", "/app/", "figure[data-chart] .uplot canvas"),
    ("calllist", "/app/calllist", "table.list tbody tr"),
    ("client", "/app/clients/{client}", ".uplot canvas"),
    ("models", "/app/models", "figure[data-chart] .uplot canvas"),
    ("cycles", "/app/cycles", ".cycle"),
    ("data", "/app/data", "main table"),
]


def picture(page: Any, path: Path) -> Path:
    """The page's top TALLEST px (less when the page is shorter) as a PNG of 256 colours:
    a third of the size, and text as sharp (the pages have few colours)."""
    from PIL import Image  # noqa: PLC0415 - matplotlib's dependency, needed here only

    height = min(TALLEST, int(page.evaluate("document.documentElement.scrollHeight")))
    clip = {"x": 0, "y": 0, "width": WIDTH, "height": height}
    page.screenshot(path=str(path), full_page=True, clip=clip)
    with Image.open(path) as shot:
        fewer = shot.convert("RGB").quantize(colors=256)
    fewer.save(path, optimize=True)
    return path


def take_pictures(browser: Any, url: str, token: str, folder: Path) -> dict[str, Path]:
    """Sign in, then picture every page; the sign-in page first, as a signed-out reader sees it."""
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    try:
        page = context.new_page()
        taken = {"signin": _sign_in(page, url, token, folder / "signin.png")}
        client = page.locator("table.list tbody tr th").first.inner_text()
        for name, address, drawn in PAGES:
            page.goto(url + address.format(client=quote(client)))
            page.locator(drawn).first.wait_for()
            page.wait_for_load_state("networkidle")
            if name == "calllist":  # the row form open on the third row, as a manager uses it
                page.locator("tr#row-3").get_by_text("Record a call", exact=True).click()
            taken[name] = picture(page, folder / f"{name}.png")
    finally:
        context.close()
    return taken


def _sign_in(page: Any, url: str, token: str, path: Path) -> Path:
    """Picture the sign-in page with the token typed, sign in, land on the call list."""
    page.goto(f"{url}/app/signin?{urlencode({'next': '/app/calllist'})}")
    page.get_by_label("API token").fill(token)
    taken = picture(page, path)
    page.get_by_role("button", name="Sign in").click()
    page.locator("table.list tbody tr").first.wait_for()
    return taken
