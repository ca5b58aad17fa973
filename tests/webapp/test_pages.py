"""The overview, models, cycles and data pages in a real browser against a real `riskwatch
serve` over a demo that ran cycles; deploy and rollback with sign-in and CSRF protection."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx2

from riskwatch.model.registry import read_deployment
from riskwatch.scheduler import run_lock
from riskwatch.storage.store import Store, cycles

from ..conftest import workspace_settings
from .pages_fixtures import TOKEN, Server, serve


def production(workspace: Path) -> str:
    """The version production holds, as the deployment pointer says."""
    deployed = read_deployment(workspace_settings(workspace).prod_deployment_path)
    assert deployed is not None
    return deployed.version


def recorded_cycles(workspace: Path) -> list[dict[str, Any]]:
    """The cycles the workspace's database recorded, newest first."""
    with Store(workspace_settings(workspace).database_url) as store:
        return store.rows(cycles, newest_first=True)


def sign_in(page: Any, server: Server) -> None:
    """Sign the browser in with the API token, as a manager does on the sign-in page."""
    page.goto(f"{server.url}/app/signin")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    assert page.locator(".account").inner_text().startswith("Signed in")


def test_the_overview_shows_the_verdict_production_changes_and_history(
    pages_server: Server, page: Any, screenshot: Any
) -> None:
    page.goto(f"{pages_server.url}/app/")
    assert page.get_by_role("heading", level=1).inner_text() == "Overview"
    # A version was deployed by hand after the last check: the page says it is not judged yet.
    verdict = page.locator(".verdict")
    assert verdict.get_by_role("heading").inner_text() == "Not yet judged"
    assert production(pages_server.workspace) in verdict.inner_text()
    assert "Multivariate drift (all features together):" in verdict.inner_text()
    facts = page.locator(".facts").inner_text()
    assert production(pages_server.workspace) in facts
    changes = page.locator(".changes").inner_text()
    assert "The last cycle with new data ran on" in changes
    assert "Ingest: 2 batches" in changes  # the file with bad rows and the unreadable one
    bands = page.locator("table.bands tbody tr").all_inner_texts()
    assert [row.split()[0] for row in bands] == ["high", "medium", "low"]
    calls = page.locator("section[aria-labelledby=calls-heading]").inner_text()
    assert "Not enough data yet to say what calls achieve" in calls
    timeline = page.locator(".timeline > li")
    recorded = recorded_cycles(pages_server.workspace)
    assert timeline.count() == min(len(recorded), 8)
    assert recorded[0]["outcome"] in timeline.first.inner_text()
    # The charts are drawn (uPlot) and their numbers are in the tables too.
    assert page.locator("figure[data-chart] .uplot").count() == 2
    assert "drifted" in page.locator("table.drift").inner_text()
    screenshot("overview")


def test_the_overview_reads_without_javascript(pages_server: Server, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        opened = context.new_page()
        opened.goto(f"{pages_server.url}/app/")
        assert "Performance per cycle" in opened.locator("table").nth(2).inner_text()
        assert opened.locator(".uplot").count() == 0
        assert opened.locator("table.drift tbody tr").count() >= 2
    finally:
        context.close()


def test_the_models_page_lists_versions_and_marks_production(
    pages_server: Server, page: Any, screenshot: Any
) -> None:
    page.goto(f"{pages_server.url}/app/models")
    current = production(pages_server.workspace)
    assert f"In production: {current}" in page.locator(".lead").inner_text()
    saved = sorted(p.name for p in (pages_server.workspace / "models").iterdir() if p.is_dir())
    rows = page.locator("table.versions tbody tr.head")
    assert rows.count() == len(saved)
    assert rows.first.locator("th").inner_text().startswith(saved[-1])  # newest first
    assert "in production" in page.locator("tbody.current").inner_text()
    assert current in page.locator("tbody.current").inner_text()
    page.get_by_role("combobox", name="Metric").select_option("f1")
    page.wait_for_url("**/app/models?metric=f1")
    assert page.get_by_role("heading", name="F1 across versions").is_visible()
    assert page.locator("figure[data-chart] .uplot").count() == 1
    screenshot("models")


def test_a_rollback_needs_sign_in_and_works_with_the_token(
    pages_server: Server, page: Any, screenshot: Any
) -> None:
    before = production(pages_server.workspace)
    page.goto(f"{pages_server.url}/app/models")
    page.get_by_role("link", name="Roll back to").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Roll back production?"
    assert "You are not signed in" in page.locator("main").inner_text()
    screenshot("rollback-confirm")
    page.get_by_role("button", name="Roll back to").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Refused"
    assert "Sign in first" in page.get_by_role("alert").inner_text()
    assert production(pages_server.workspace) == before

    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("API token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    assert "That is not the API token" in page.get_by_role("alert").inner_text()
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    assert page.locator(".account").inner_text().startswith("Signed in")

    page.goto(f"{pages_server.url}/app/models")
    page.get_by_role("link", name="Roll back to").click()
    target = page.locator("input[name=version]").input_value()
    page.get_by_role("button", name="Roll back to").click()
    assert page.get_by_role("status").inner_text() == (
        f"Rolled back: version {target} is now in production."
    )
    assert production(pages_server.workspace) == target
    screenshot("models-after-rollback")

    # And forward again, with the deploy button of the version that was there.
    page.goto(f"{pages_server.url}/app/models/deploy?version={before}")
    page.get_by_role("button", name=f"Deploy {before}").click()
    assert f"Deployed: version {before}" in page.get_by_role("status").inner_text()
    assert production(pages_server.workspace) == before


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused(
    pages_server: Server, page: Any
) -> None:
    sign_in(page, pages_server)
    page.goto(f"{pages_server.url}/app/models/rollback")
    csrf = page.locator("main input[name=csrf]").input_value()
    before = production(pages_server.workspace)
    same_site = {"Origin": pages_server.url}
    without = page.request.post(
        f"{pages_server.url}/app/models/rollback", form={"version": ""}, headers=same_site
    )
    assert without.status == 403
    assert "expired or did not come from this page" in without.text()
    foreign = page.request.post(
        f"{pages_server.url}/app/models/rollback",
        form={"csrf": csrf, "version": ""},
        headers={"Origin": "http://127.0.0.1:1"},
    )
    assert foreign.status == 403
    assert "from another site" in foreign.text()
    assert production(pages_server.workspace) == before


def test_the_cycles_page_lists_each_cycle_and_its_report_opens(
    pages_server: Server, page: Any, screenshot: Any
) -> None:
    page.goto(f"{pages_server.url}/app/cycles")
    recorded = recorded_cycles(pages_server.workspace)
    articles = page.locator("article.cycle")
    assert articles.count() == len(recorded)
    newest = articles.first
    assert f"Cycle {recorded[0]['id']}" in newest.get_by_role("heading").inner_text()
    steps = newest.locator("table.steps tbody th").all_inner_texts()
    assert steps == [step["name"] for step in recorded[0]["steps"]]
    assert "quarantined" in newest.inner_text()
    screenshot("cycles")
    newest.get_by_role("link", name="Its report").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Client attrition risk report"
    assert "/app/reports/" in page.url


def test_report_urls_outside_the_kept_reports_are_not_found(
    pages_server: Server, tmp_path: Path
) -> None:
    reports = pages_server.workspace / "reports"
    outside = tmp_path / "secret"
    (outside).mkdir()
    (outside / "report.html").write_text("secret", encoding="utf-8")
    link = reports / "2000-01-01T00.00.00.000000Z"
    link.symlink_to(outside, target_is_directory=True)
    try:
        for path in (
            "2000-01-01T00.00.00.000000Z/report.html",  # a link out of reports/
            "..%2Friskwatch.toml/report.html",
            "report.html/report.html",
            f"{sorted(p.name for p in reports.iterdir() if p.is_dir())[-1]}/report.pdf.bak",
        ):
            answer = httpx2.get(f"{pages_server.url}/app/reports/{path}")
            assert answer.status_code == 404, path
            assert "secret" not in answer.text
    finally:
        link.unlink()


def test_the_data_page_shows_batches_and_quarantined_rows_with_reasons(
    pages_server: Server, page: Any, screenshot: Any
) -> None:
    page.goto(f"{pages_server.url}/app/data")
    batches = page.locator("table.batches tbody tr")
    names = [row.split("\t")[0] for row in batches.all_inner_texts()]
    assert {"month_01.csv", "late_rows.csv", "broken.csv"} <= set(names)
    quarantine = page.locator(".quarantine")
    texts = quarantine.all_inner_texts()
    assert any(t.startswith("broken.csv: the whole file") for t in texts)
    late = next(t for t in texts if t.startswith("late_rows.csv"))
    assert "2 rows" in late
    assert "bad000001" in late and "bad000002" in late
    assert "good000001" not in late
    screenshot("data")


def test_every_page_needs_sign_in_when_reads_are_guarded(cycled_workspace: Path) -> None:
    environment = {
        "RISKWATCH_API_TOKEN": TOKEN,
        "RISKWATCH_WEBAPP_REQUIRE_SIGNIN_FOR_READS": "true",
    }
    with serve(cycled_workspace, **environment) as server:
        for path in ("/app/", "/app/models", "/app/cycles", "/app/data", "/app/calllist"):
            answer = httpx2.get(f"{server.url}{path}", follow_redirects=False)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/app/signin?next=")
        assert httpx2.get(f"{server.url}/app/static/app.css").status_code == 200
        with httpx2.Client(base_url=server.url, headers={"Origin": server.url}) as client:
            form = client.get("/app/signin?next=/app/data")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert form.status_code == 200 and csrf is not None
            signed = client.post(
                "/app/signin",
                data={"csrf": csrf.group(1), "token": TOKEN, "next": "/app/data"},
                follow_redirects=True,
            )
            assert signed.status_code == 200
            assert "<h1>Data</h1>" in signed.text


def test_a_rollback_while_a_cycle_holds_the_run_lock_is_refused_and_says_so(
    pages_server: Server, page: Any
) -> None:
    sign_in(page, pages_server)
    before = production(pages_server.workspace)
    page.goto(f"{pages_server.url}/app/models/rollback")
    with run_lock(workspace_settings(pages_server.workspace)):  # as a running cycle holds it
        page.get_by_role("button", name="Roll back to").click()
        assert "Not done: another cycle holds the lock" in page.get_by_role("alert").inner_text()
    assert production(pages_server.workspace) == before
