"""The report: plots, the HTML/PDF files kept and published, the managers' summary, the CLI."""

from __future__ import annotations

import argparse
import json
import math
import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from riskwatch.calllist.build import build_call_list
from riskwatch.cli import report as report_cli
from riskwatch.config import Settings
from riskwatch.demo.workspace import release_month
from riskwatch.deployment import deploy, rollback
from riskwatch.ingestion.datasets import read_labelled
from riskwatch.ingestion.ingest import ingest
from riskwatch.ingestion.master import read_master
from riskwatch.model.registry import VERSION_PATTERN, load_deployed, read_deployment
from riskwatch.monitoring.evidence import judged_rows, score_holdout
from riskwatch.monitoring.verdict import judge
from riskwatch.reporting import (
    Given,
    ReportError,
    ReportResult,
    build_report,
)
from riskwatch.reporting.details import when
from riskwatch.schema import FEATURES
from riskwatch.storage.store import Store, deployments, diagnostics
from riskwatch.training import train_version

from ..conftest import Workspace, copy_workspace, csv_rows
from .conftest import assert_picture

PICTURES = {
    "confusionmatrix.png",
    "roc.png",
    "precision_recall.png",
    "calibration.png",
    "risk_distribution.png",
    "feature_drift.png",
    "score_history.png",
    "drift_history.png",
}
EVIL_ID = "<script>alert(1)</script>"


# Reading the files a report writes, without any PDF library (none is a dependency):
# WeasyPrint writes text as glyph ids in FlateDecode streams, and each font's ToUnicode map
# turns them back into characters.


def _objects(pdf: bytes) -> dict[int, bytes]:
    """Every object's text: the dictionary, then its stream decompressed where it is one."""
    found: dict[int, bytes] = {}
    for match in re.finditer(rb"(\d+) 0 obj(.*?)endobj", pdf, re.S):
        body = match.group(2)
        head, _, rest = body.partition(b"stream")
        if b"/Image" in head or b"/Length1" in head:  # pictures and font programs: no text
            rest = b""
        elif rest:
            try:
                rest = zlib.decompress(rest.lstrip(b"\r\n"))
            except zlib.error:
                rest = b""
        found[int(match.group(1))] = head + rest
        if b"/ObjStm" in head:  # objects packed into an object stream
            count = int(re.findall(rb"/N (\d+)", head)[0])
            first = int(re.findall(rb"/First (\d+)", head)[0])
            pairs = [int(n) for n in rest[:first].split()][: 2 * count]
            offsets = [*pairs[1::2], len(rest) - first]
            for index, number in enumerate(pairs[::2]):
                found[number] = rest[first + offsets[index] : first + offsets[index + 1]]
    return found


def _cmap(text: bytes) -> dict[str, str]:
    """A ToUnicode map: glyph code (hex) to the characters it draws."""
    mapping = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for code, chars in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
            mapping[code.decode().lower()] = bytes.fromhex(chars.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for low, high, chars in re.findall(rb"<(\w+)>\s*<(\w+)>\s*<(\w+)>", block):
            start = int(chars, 16)
            for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                mapping[f"{code:0{len(low)}x}"] = chr(start + offset)
    return mapping


def pdf_text(pdf: bytes) -> str:
    """The text a PDF written by WeasyPrint shows, in drawing order."""
    objects = _objects(pdf)
    fonts = {}
    for body in objects.values():
        for name, number in re.findall(rb"/([A-Za-z0-9_+-]+) (\d+) 0 R", body):
            target = objects.get(int(number), b"")
            unicode = re.search(rb"/ToUnicode (\d+) 0 R", target)
            if unicode:
                fonts[name] = _cmap(objects.get(int(unicode.group(1)), b""))
    pieces = []
    operators = rb"/([A-Za-z0-9_+-]+)\s+[\d.]+\s+Tf|\[(.*?)\]\s*TJ|<([0-9a-fA-F]*)>\s*Tj"
    for body in objects.values():
        font: dict[str, str] = {}
        for match in re.finditer(operators, body, re.S):
            if match.group(1):
                font = fonts.get(match.group(1), {})
                continue
            codes = b"".join(re.findall(rb"<([0-9a-fA-F]*)>", match.group(2) or b""))
            codes = codes or match.group(3) or b""
            hexes = codes.decode().lower()
            pieces.append("".join(font.get(hexes[i : i + 4], "") for i in range(0, len(hexes), 4)))
    return " ".join(pieces)


def squeezed(text: str) -> str:
    """Text without any white space, so line breaks in the PDF do not matter."""
    return "".join(text.split())


# The report of a demo workspace


@pytest.fixture(scope="module")
def template(deployed_template: Callable[..., Path]) -> Path:
    """Built once: a 2,000-client demo, a model trained on month 1 and deployed, month 2 in."""
    return deployed_template(months=3, seed=3, later=1)


@pytest.fixture
def ws(template: Path, tmp_path: Path) -> Workspace:
    return copy_workspace(template, tmp_path)


def report(ws: Workspace, now: datetime | None = None) -> ReportResult:
    with Store(ws.settings.database_url) as store:
        return build_report(ws.settings, store, now=now)


def drift_checks(ws: Workspace) -> list[dict[str, Any]]:
    with Store(ws.settings.database_url) as store:
        return store.rows(diagnostics, kind="drift")


def test_report_keeps_a_folder_and_publishes_html_pdf_and_confusion_matrix(ws: Workspace) -> None:
    result = report(ws)

    reports = ws.path / "reports"
    assert result.folder.parent == reports
    assert VERSION_PATTERN.fullmatch(result.folder.name)
    kept = {p.name for p in result.folder.iterdir()}
    assert kept == PICTURES | {"report.html", "report.pdf"}
    for name in ("report.html", "report.pdf", "confusionmatrix.png"):
        assert (reports / name).read_bytes() == (result.folder / name).read_bytes()
    assert not [p for p in reports.iterdir() if p.name.startswith(".")]  # no staging left
    for name in PICTURES:
        assert_picture(result.folder / name)


def test_report_pdf_holds_the_managers_summary(ws: Workspace) -> None:
    result = report(ws)

    pdf = result.pdf.read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    text = squeezed(pdf_text(pdf))
    summary = result.summary
    assert summary.verdict.startswith(("The model is healthy: ", "The model needs attention: "))
    assert squeezed(summary.verdict) in text
    assert squeezed(summary.bands_sentence) in text
    assert squeezed(summary.top[0]["client"]) in text
    assert "Detailsfordatascientists" in text


def test_report_html_is_self_contained_and_holds_the_summary(ws: Workspace) -> None:
    result = report(ws)

    html = result.html.read_text(encoding="utf-8")
    assert html.count('src="data:image/png;base64,') == len(PICTURES)
    assert not re.search(r'src="(?!data:)', html)  # nothing fetched from elsewhere
    assert result.summary.verdict.replace("'", "&#39;") in html
    assert "Summary for client managers" in html
    assert "Details for data scientists" in html
    # Month 2 was not in the training data: the first report checks it and says so.
    assert "This is the first report" in result.summary.changes[0]
    assert result.summary.state != "not judged"
    assert sum(result.summary.bands.values()) == result.summary.clients > 0


def test_call_first_lists_only_clients_who_have_not_left(ws: Workspace) -> None:
    result = report(ws)

    latest = read_master(ws.settings.output_folder_path).drop_duplicates("corporation", keep="last")
    exited = dict(zip(latest["corporation"], latest["exited"], strict=True))
    top = result.summary.top
    assert 0 < len(top) <= 10
    assert all(exited[row["client"]] == 0 for row in top)
    ranks = [row["rank"] for row in top]
    assert ranks == sorted(ranks)
    skipped = ranks[-1] - len(top)  # clients ranked above the last shown who left
    assert (f"Not shown: {skipped} client" in result.summary.top_note) == (skipped > 0)


def test_second_report_keeps_the_first_and_replaces_the_fixed_paths(ws: Workspace) -> None:
    first = report(ws, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert len(drift_checks(ws)) == 1
    release_month(ws.path, 3)
    ingest(ws.settings)
    second = report(ws, now=datetime(2026, 1, 1, tzinfo=UTC))  # the same time: a free name

    assert first.folder != second.folder
    assert first.folder.is_dir() and second.folder.is_dir()
    assert (first.folder / "report.pdf").read_bytes() != second.pdf.read_bytes()
    assert second.pdf.read_bytes() == (second.folder / "report.pdf").read_bytes()
    checks = drift_checks(ws)
    assert len(checks) == 2
    assert checks[-1]["result"]["batch"] == "month_03.csv"
    assert "since the last report" in " ".join(second.summary.changes)
    assert "month_03.csv" in " ".join(second.summary.changes)


def test_report_escapes_html_in_client_ids(ws: Workspace) -> None:
    # The hostile id gets the record of the client ranked first, so it is listed beside it.
    with Store(ws.settings.database_url) as store:
        top = build_call_list(ws.settings, store, top=1).frame.iloc[0]["corporation"]
    master = read_master(ws.settings.output_folder_path)
    row = master[master["corporation"] == top].iloc[-1]
    values = ",".join(str(int(row[c])) for c in FEATURES)
    (ws.path / "sourcedata" / "extra.csv").write_text(csv_rows(f"{EVIL_ID},{values},0"))
    ingest(ws.settings)
    result = report(ws)

    assert EVIL_ID in [row["client"] for row in result.summary.top]
    html = result.html.read_text(encoding="utf-8")
    assert EVIL_ID not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert squeezed(EVIL_ID) in squeezed(pdf_text(result.pdf.read_bytes()))


def test_report_without_a_deployed_model_says_to_train_and_deploy(
    demo_settings: Settings,
) -> None:
    with Store(demo_settings.database_url) as store, pytest.raises(ReportError) as caught:
        build_report(demo_settings, store)

    assert "riskwatch train" in str(caught.value)
    assert "riskwatch deploy" in str(caught.value)
    assert not (demo_settings.reports_path / "report.html").exists()


def test_report_command_prints_where_the_report_is_as_json(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path)
    report_cli.add_commands(parser.add_subparsers(), common)
    args = parser.parse_args(["report", "--config", str(ws.path / "riskwatch.toml"), "--json"])

    assert args.command(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert Path(printed["pdf"]) == ws.path / "reports" / "report.pdf"
    assert Path(printed["folder"]).is_dir()
    assert printed["summary"]["verdict"].startswith(
        ("The model is healthy: ", "The model needs attention: ")
    )


# What the report says after a retrain, a promotion and a rollback (#12 items 3, 4, 5)


def manager_part(html: str) -> str:
    """The HTML a client manager reads: everything before the details."""
    return html.split("<body>")[1].split("Details for data scientists", maxsplit=1)[0]


def retrain_and_deploy(ws: Workspace, reason: str) -> tuple[str, str]:
    """A model trained on every batch (the newest included) deployed; (old, new) versions."""
    with Store(ws.settings.database_url) as store:
        old = rollback_target(ws)
        new = train_version(ws.settings, store).version
        deploy(ws.settings, store, new, reason=reason)
    return old, new


def rollback_target(ws: Workspace) -> str:
    deployed = read_deployment(ws.settings.prod_deployment_path)
    assert deployed is not None
    return deployed.version


GATE = (
    "promoted: roc_auc 0.7339 vs production 0.6900 (+0.0438) on 1,000 rows: "
    "beats production by the margin 0.01"
)


def test_after_a_retrain_on_the_newest_data_the_verdict_says_not_yet_judged(ws: Workspace) -> None:
    retrain_and_deploy(ws, GATE)
    result = report(ws)

    summary = result.summary
    assert summary.state == "not judged" and summary.healthy is None
    assert summary.verdict.startswith("Not yet judged: no data since this model was trained.")
    html = result.html.read_text(encoding="utf-8")
    assert 'class="verdict notjudged"' in html
    # Page 1 and the details agree: no red flag, no verdict on data the model was trained on.
    assert "needs attention" not in html and "is healthy" not in html
    assert "no evidence the model got worse" not in html
    assert (
        "Not judged: the newest data (month_02.csv) was part of this model&#39;s training" in html
    )
    # Not stored as a check of the model either: the history plots only data it had not seen.
    assert drift_checks(ws)[-1]["result"]["in_training"] is True


def test_page_one_says_why_a_model_was_promoted_in_words_the_details_keep_the_numbers(
    ws: Workspace,
) -> None:
    _, new = retrain_and_deploy(ws, GATE)
    result = report(ws)

    html = result.html.read_text(encoding="utf-8")
    page_one = manager_part(html)
    said = " ".join(result.summary.changes)
    assert "A new model went into production on" in said and new in said
    assert "retrained with the newest data" in said
    for jargon in ("roc_auc", "margin", "+0.0438", str(ws.path)):
        assert jargon not in page_one, jargon
    assert "all of them in calllist.csv" in page_one
    assert "roc_auc 0.7339 vs production 0.6900 (+0.0438)" in html  # in the details
    assert str(ws.path) in html.split("Details for data scientists")[1]


def test_after_a_rollback_the_report_says_which_model_came_back_and_when_it_served_before(
    ws: Workspace,
) -> None:
    old, new = retrain_and_deploy(ws, "manual")
    with Store(ws.settings.database_url) as store:
        history = {row["version"]: row["deployed_at"] for row in store.rows(deployments)}
        rollback(ws.settings, store)
    result = report(ws)

    said = " ".join(result.summary.changes)
    assert "A new model went into production" not in said
    assert f"Rolled back from version {new} to version {old} on " in said
    assert (
        f"the model that was in production before, from {when(history[old])} to "
        f"{when(history[new])}." in said
    )
    assert squeezed(f"Rolled back from version {new}") in squeezed(
        result.html.read_text(encoding="utf-8")
    )
    # Month 2 was not in the old model's training: it is judged again.
    assert result.summary.state in ("healthy", "attention")


def test_the_details_show_the_numbers_the_performance_decision_used(ws: Workspace) -> None:
    result = report(ws)

    performance = drift_checks(ws)[-1]["result"]["performance"]
    a = (performance["current"]["high"] - performance["current"]["low"]) / 2
    b = (performance["recorded_high"] - performance["recorded_low"]) / 2
    assert performance["allowed"] == pytest.approx(math.sqrt(a**2 + b**2))
    html = result.html.read_text(encoding="utf-8")
    assert "Noise allows √(a² + b²)" in html
    assert f"{performance['allowed']:.4f}" in html
    assert f"(half-width {a:.4f})" in html and f"(half-width {b:.4f})" in html


def test_a_report_given_a_cycles_evaluation_and_holdout_scores_shows_the_same_numbers(
    ws: Workspace,
) -> None:
    settings = ws.settings
    deployed, model = load_deployed(settings.prod_deployment_path)
    evaluation = judge(settings, deployed, model, judged_rows(settings, [2]), [2])
    holdout = score_holdout(
        settings, model, read_labelled(settings.test_data_path), deployed.sha256
    )
    made = report(ws)
    with Store(settings.database_url) as store:
        given = build_report(settings, store, given=Given(evaluation=evaluation, holdout=holdout))

    first, second = (row["result"] for row in drift_checks(ws)[-2:])
    assert second == first
    assert given.summary.verdict == made.summary.verdict
    # The details' numbers (the pictures aside: the history plots also show the first report).
    details = [
        re.sub(r"data:image/png;base64,[^\"]+", "", r.html.read_text(encoding="utf-8")).split(
            "Details for data scientists"
        )[1]
        for r in (made, given)
    ]
    assert details[1] == details[0]


def test_the_details_show_the_label_free_estimate_and_the_multivariate_check(
    ws: Workspace,
) -> None:
    html = report(ws).html.read_text(encoding="utf-8")
    assert "Label-free estimate beside the realized figures" in html
    assert "blind to concept drift" in html
    assert "Precision at K (K = " in html and "Realized inside the band" in html
    assert "Multivariate drift (all features together):" in html and "label permutations" in html
