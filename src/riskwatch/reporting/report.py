"""The report: gather, plot, render one template to HTML and PDF, keep it, publish the newest."""

from __future__ import annotations

import base64
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from riskwatch import __version__
from riskwatch.config import Settings
from riskwatch.model.registry import VERSION_FORMAT
from riskwatch.reporting.details import details, when
from riskwatch.reporting.gather import DRIFT_KIND, Facts, Given, drift_record, gather
from riskwatch.reporting.pdf import render_pdf
from riskwatch.reporting.summary import ManagerSummary, summarise
from riskwatch.storage.clock import utcnow
from riskwatch.storage.files import atomic_path, fsync_file, fsync_folder
from riskwatch.storage.store import Store, diagnostics

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Told a stage's name when it starts (seconds None) and when it ends, with its seconds.
StageCallback = Callable[[str, float | None], None]
TEMPLATE = "report.html.j2"
HTML, PDF = "report.html", "report.pdf"
CONFUSION_MATRIX = "confusionmatrix.png"  # the classic exercise's name
PUBLISHED = (HTML, PDF, CONFUSION_MATRIX)  # also copied to the fixed paths in reports/


@dataclass(frozen=True)
class ReportResult:
    """Where a report was written, and its managers' summary."""

    folder: Path  # reports/<time>/, kept
    html: Path  # the fixed paths, replaced by each report
    pdf: Path
    confusion_matrix: Path
    pictures: dict[str, Path]
    version: str
    created_at: str
    summary: ManagerSummary
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values."""
        return {
            "folder": str(self.folder),
            "html": str(self.html),
            "pdf": str(self.pdf),
            "confusion_matrix": str(self.confusion_matrix),
            "pictures": {name: str(path) for name, path in self.pictures.items()},
            "version": self.version,
            "created_at": self.created_at,
            "seconds": self.seconds,
            "summary": self.summary.to_dict(),
        }

    def text(self) -> str:
        """Where the report is, then the managers' summary."""
        return (
            f"Report written to {self.folder} in {self.seconds:.1f} s; the newest is always at "
            f"{self.html} and {self.pdf}\n\n{self.summary.text()}"
        )


def build_report(
    settings: Settings,
    store: Store,
    *,
    now: datetime | None = None,
    on_stage: StageCallback | None = None,
    given: Given | None = None,
) -> ReportResult:
    """Build the report of the deployed model; keep it in reports/<time>/, publish the newest.

    given: what a cycle computed (its call list, models, diagnosis, evaluation, holdout scores),
    shown instead of the report's own; without it, the list as it would be now."""
    # Imported here: matplotlib is only for drawing a report (a third of a second to import),
    # not for a cycle that writes none nor for the pages that show a report's words.
    from riskwatch.reporting.figures import draw  # noqa: PLC0415

    started = time.perf_counter()
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    with _stage(on_stage, "gather"):
        facts = gather(settings, store, given)
    summary = summarise(facts, settings)
    created_at = utcnow()
    record = drift_record(facts.drift, facts.newest)
    with _stage(on_stage, "plots"):
        figures = draw(facts, settings, (created_at, record))
    context = _context(facts, summary, settings, moment)
    folder = write_report(settings.reports_path, moment, figures, context, on_stage)
    publish(folder, settings.reports_path)
    # Recorded once the report exists, so each kept report adds one point to the drift history.
    version = facts.deployed.version
    store.add(diagnostics, kind=DRIFT_KIND, version=version, result=record, created_at=created_at)
    reports = settings.reports_path
    return ReportResult(
        folder=folder,
        html=reports / HTML,
        pdf=reports / PDF,
        confusion_matrix=reports / CONFUSION_MATRIX,
        pictures={name: folder / name for name in figures},
        version=version,
        created_at=created_at,
        summary=summary,
        seconds=round(time.perf_counter() - started, 3),
    )


def _context(
    facts: Facts, summary: ManagerSummary, settings: Settings, moment: datetime
) -> dict[str, Any]:
    """What the template shows besides the pictures."""
    return {
        "summary": summary,
        "details": details(facts),
        "generated": when(moment.isoformat()),
        "version": facts.deployed.version,
        "riskwatch_version": __version__,
        "workspace": str(settings.workspace),
        "newest": facts.newest.name,
        "threshold": settings.decision_threshold,
    }


def write_report(
    reports: Path,
    moment: datetime,
    figures: dict[str, Figure],
    context: dict[str, Any],
    on_stage: StageCallback | None = None,
) -> Path:
    """Write the pictures, the HTML and the PDF into a new reports/<time>/ folder, whole."""
    from riskwatch.reporting.plots import write_png  # noqa: PLC0415  # matplotlib, as above

    with _staging(reports) as staging:
        with _stage(on_stage, "HTML"):
            images = {
                name: _data_uri(write_png(figure, staging / name))
                for name, figure in figures.items()
            }
            html = render_html(context | {"images": images})
            (staging / HTML).write_text(html, encoding="utf-8")
        with _stage(on_stage, "PDF"):
            render_pdf(html, staging / PDF)
        for path in staging.iterdir():
            fsync_file(path)
        return _commit(staging, reports, moment)


@contextmanager
def _stage(on_stage: StageCallback | None, name: str) -> Iterator[None]:
    """Tell on_stage when the block starts and how many seconds it took."""
    started = time.perf_counter()
    if on_stage:
        on_stage(name, None)
    yield
    if on_stage:
        on_stage(name, round(time.perf_counter() - started, 3))


@contextmanager
def _staging(reports: Path) -> Iterator[Path]:
    """A hidden folder beside the reports, removed unless it was renamed into place."""
    reports.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-report-", dir=reports))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _commit(staging: Path, reports: Path, moment: datetime) -> Path:
    """Rename the staging folder to the report's time (a microsecond later if that is taken)."""
    staging.chmod(0o755)  # mkdtemp makes it private; a web server may serve the reports
    for step in range(1000):
        target = reports / (moment + timedelta(microseconds=step)).strftime(VERSION_FORMAT)
        if target.exists():
            continue
        try:
            # A report folder appears whole or not at all; a kept report is never overwritten.
            staging.rename(target)
        except OSError:
            if not target.exists():
                raise
            continue
        fsync_folder(reports)
        return target
    raise FileExistsError(f"{reports}: no free report folder name near {moment.isoformat()}")


def publish(folder: Path, reports: Path) -> None:
    """Copy the newest report, PDF and confusion matrix to their fixed paths, each atomically."""
    for name in PUBLISHED:
        with atomic_path(reports / name) as temporary:
            shutil.copyfile(folder / name, temporary)


def render_html(context: dict[str, Any]) -> str:
    """The report's HTML from the packaged template; every value is escaped."""
    text = (
        resources.files("riskwatch.reporting")
        .joinpath("templates", TEMPLATE)
        .read_text(encoding="utf-8")
    )
    environment = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    return environment.from_string(text).render(context)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
