"""The order of a cycle's steps, and how a cycle ends (recorded, whatever happens)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from riskwatch.config import Settings
from riskwatch.errors import RiskwatchError
from riskwatch.fullprocess.record import clear_mark, read_mark, record_quickly, row_of, write_mark
from riskwatch.fullprocess.result import CycleResult, Step
from riskwatch.ingestion import check
from riskwatch.storage import open_store
from riskwatch.storage.clock import utcnow

if TYPE_CHECKING:
    from riskwatch.calllist.build import CallList
    from riskwatch.fullprocess.steps import Held
    from riskwatch.ingestion.sources import Check
    from riskwatch.storage.store import Store

log = logging.getLogger(__name__)
# Told a step's name when it starts (seconds None) and again when it ends, with its seconds.
StepCallback = Callable[[str, float | None], None]


def run_cycle(
    settings: Settings,
    *,
    trigger: str = "manual",
    report: bool = True,
    on_step: StepCallback | None = None,
) -> CycleResult:
    """Run one monitored cycle; every decision is in the result and in the database."""
    result = CycleResult(trigger=trigger, started_at=utcnow())
    started = time.perf_counter()
    try:
        found = check(settings)
    except (RiskwatchError, OSError, ValueError) as exc:  # the source cannot be read at all
        result.steps.append(Step("new data", "failed"))
        _failed(result, exc)
        result.finished_at = utcnow()
        _record_with_store(settings, result)
        return result
    mark = read_mark(settings)
    if not found.new and mark is None:
        # The path cron takes most often: no pandas, no scikit-learn, no SQLAlchemy.
        detail = {"source": found.source, "already_ingested": found.already_ingested}
        result.steps.append(
            Step("new data", "none", detail, round(time.perf_counter() - started, 4))
        )
        result.outcome, result.finished_at = "no new data", utcnow()
        result.cycle_id = record_quickly(settings, result)
        if result.cycle_id is None:
            _record_with_store(settings, result)
        return result
    said = f"{len(found.new)} new batch(es)" if found.new else "an unfinished cycle's work"
    result.steps.append(Step("new data", said, {"batches": [b.name for b in found.new]}))
    return _full_cycle(settings, result, (found, mark or {}), report, on_step)


def _record_with_store(settings: Settings, result: CycleResult) -> None:
    from riskwatch.storage.store import cycles  # noqa: PLC0415 - SQLAlchemy is heavy

    with open_store(settings) as store:
        result.cycle_id = store.add(cycles, **row_of(result))


def _full_cycle(
    settings: Settings,
    result: CycleResult,
    start: tuple[Check, dict[str, Any]],
    report: bool,
    on_step: StepCallback | None = None,
) -> CycleResult:
    from riskwatch.model.imports import scipy_special_first  # noqa: PLC0415

    scipy_special_first()  # before pandas and scikit-learn: the models load through skops

    from riskwatch.storage.store import cycles  # noqa: PLC0415 - SQLAlchemy is heavy

    with open_store(settings) as store:
        _close_interrupted(store)
        result.cycle_id = store.add(cycles, **row_of(result))
        try:
            _steps(settings, store, result, start, report=report, on_step=on_step)
        except (RiskwatchError, OSError, ValueError) as exc:
            _failed(result, exc)
        except Exception as exc:  # a bug: still recorded, still a clear message
            log.debug("traceback", exc_info=True)
            _failed(result, exc, internal=True)
        else:
            clear_mark(settings)  # the work is done: the next cycle starts afresh
        result.finished_at = utcnow()
        store.update(cycles, result.cycle_id, **row_of(result))
    return result


def _close_interrupted(store: Store) -> None:
    """Cycles still 'running' died (killed, machine down): this one holds the lock."""
    from riskwatch.storage.store import cycles  # noqa: PLC0415

    for row in store.rows(cycles, outcome="running"):
        error = "the cycle stopped before it finished (killed?); the next cycle redid its work"
        store.update(cycles, row["id"], outcome="interrupted", error=error, finished_at=utcnow())


def _failed(result: CycleResult, exc: BaseException, internal: bool = False) -> None:
    where = result.steps[-1].name if result.steps else "start"
    kind = f"internal error {type(exc).__name__}: " if internal else ""
    result.outcome, result.error = "failed", f"{where}: {kind}{exc}"


def _steps(
    settings: Settings,
    store: Store,
    result: CycleResult,
    start: tuple[Check, dict[str, Any]],
    *,
    report: bool,
    on_step: StepCallback | None = None,
) -> None:
    """The steps in order, from what the cycle's check found and the last cycle's mark."""
    # Imported once the cycle is recorded: a cycle killed while importing is still seen.
    from riskwatch.deployment import reconcile  # noqa: PLC0415 - the heavy steps
    from riskwatch.fullprocess import steps  # noqa: PLC0415
    from riskwatch.fullprocess.ingeststep import ingest_step  # noqa: PLC0415

    def run(name: str, action: Callable[[], Step]) -> Step:
        result.steps.append(Step(name, "running"))  # a failure names the step it was in
        started = time.perf_counter()
        if on_step:
            on_step(name, None)
        step = action()
        step.seconds = round(time.perf_counter() - started, 3)
        if on_step:
            on_step(name, step.seconds)
        result.steps[-1] = step
        return step

    found, mark = start
    held = steps.Held()  # what one step computed and a later one uses: loaded once
    # The mark stays if the cycle dies: the next cycle then judges these batches again.
    write_mark(settings, {"cycle_id": result.cycle_id, "resumes": mark.get("cycle_id")})
    reconcile(settings, store)  # a deployment a crash left unrecorded
    ingested = run("ingest", lambda: ingest_step(settings, store, found))
    batch_ids = ingested.detail["judged_batch_ids"]
    if not steps.deployed(settings):
        run("initial model", lambda: steps.initial_step(settings, store, held))
        result.outcome = "initial"
    else:
        judged = run("evaluate", lambda: steps.evaluate_step(settings, store, batch_ids, held))
        if judged.outcome == "retrain":
            gate = run("retrain", lambda: steps.retrain_step(settings, store, batch_ids, held))
            result.outcome = "promoted" if gate.outcome == "promoted" else "rejected"
        else:
            result.outcome = "kept"
    run("diagnose", lambda: steps.diagnose_step(settings, store, held))
    _publish(settings, store, result, run, held, report=report)
    if settings.cycle_apicalls:
        run("api", lambda: steps.api_step(settings))


def _publish(
    settings: Settings,
    store: Store,
    result: CycleResult,
    run: Callable[[str, Callable[[], Step]], Step],
    held: Held,
    *,
    report: bool,
) -> None:
    """Build and publish the call list once; the report shows that same list."""
    from riskwatch.fullprocess import steps  # noqa: PLC0415 - the heavy steps

    listed: list[CallList] = []

    def call_list() -> Step:
        step, found = steps.calllist_step(settings, store, result.cycle_id, held)
        listed.append(found)
        return step

    run("call list", call_list)
    if report:
        run("report", lambda: steps.report_step(settings, store, listed[0], held))
