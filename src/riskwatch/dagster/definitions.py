"""riskwatch's cycle as Dagster sees it: assets, checks, a job, a schedule and a sensor.

Nothing here decides anything: the job runs the same cycle as `riskwatch run` and reports what
riskwatch recorded. Settings are read when a run or a sensor tick starts, never at import.
"""

# No `from __future__ import annotations`: Dagster reads the context's annotation as a class.
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

from riskwatch.config import Settings, load_settings
from riskwatch.scheduler import LockedError, parse_interval, run_lock
from riskwatch.scheduler_cron import cron_schedule

if TYPE_CHECKING:
    from riskwatch.dagster.records import Checked, CycleRecords
    from riskwatch.ingestion.sources import Batch

CONFIG_ENV = "RISKWATCH_CONFIG"  # the workspace's config file; else ./riskwatch.toml as the CLI
TRIGGER = "dagster"  # as recorded in riskwatch's cycles table
EVERY = "10m"  # the cron entry's default interval (`riskwatch cron install`)
BATCHES_NAME = "riskwatch_batches"
BATCHES = dg.DynamicPartitionsDefinition(name=BATCHES_NAME)
BATCH = dg.AssetKey("batch")
MODEL_VERSION, DEPLOYMENT = dg.AssetKey("model_version"), dg.AssetKey("deployment")
CALL_LIST, REPORT = dg.AssetKey("call_list"), dg.AssetKey("report")
VALIDATION, GATE = "validation", "promotion_gate"
GROUP = "riskwatch"


def current_settings() -> Settings:
    """The workspace's settings: the file RISKWATCH_CONFIG names, else the current folder's."""
    named = os.environ.get(CONFIG_ENV)
    return load_settings(Path(named) if named else None)


batch_asset = dg.AssetSpec(
    BATCH,
    partitions_def=BATCHES,
    group_name=GROUP,
    description="One batch of the source, ingested by a cycle: its lineage record as metadata.",
)


@dg.multi_asset(
    name="riskwatch_cycle_assets",
    group_name=GROUP,
    specs=[
        dg.AssetSpec(MODEL_VERSION, skippable=True, deps=[BATCH], description="A trained version."),
        dg.AssetSpec(DEPLOYMENT, skippable=True, deps=[MODEL_VERSION], description="Production."),
        dg.AssetSpec(CALL_LIST, skippable=True, deps=[DEPLOYMENT], description="Published list."),
        dg.AssetSpec(REPORT, skippable=True, deps=[CALL_LIST], description="HTML and PDF report."),
    ],
)
def cycle_assets(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult[None]]:
    """One monitored cycle, as `riskwatch run` runs it; what it changed, as materializations."""
    from riskwatch.dagster.records import read_records  # noqa: PLC0415 - at run time only
    from riskwatch.fullprocess import run_cycle  # noqa: PLC0415

    settings = current_settings()
    try:
        with run_lock(settings):
            result = run_cycle(settings, trigger=TRIGGER)
    except LockedError as exc:  # Dagster's retry policy may try again later
        raise dg.Failure(f"another cycle holds the workspace's lock: {exc}") from exc
    context.log.info(result.summary())
    found = read_records(settings, result)
    _report_batches(context, found)
    yield from _materializations(found)
    if found.gate is not None:  # logged, not declared: a cycle that trains nothing has no gate
        context.log_event(_evaluation(MODEL_VERSION, GATE, found.gate))
    if result.error:
        raise dg.Failure(f"the cycle failed: {result.error}", metadata=found.cycle)


def _report_batches(context: dg.AssetExecutionContext, found: "CycleRecords") -> None:
    """Each batch the cycle ingested: a partition of `batch`, materialized and validated."""
    from riskwatch.dagster.records import validation  # noqa: PLC0415

    instance = context.instance
    missing = [n for n in found.batches if not instance.has_dynamic_partition(BATCHES_NAME, n)]
    if missing:  # a run without the sensor (the schedule, the command line) names them here
        instance.add_dynamic_partitions(BATCHES_NAME, missing)
    for name, record in found.batches.items():
        checked = validation(record)
        cycle = {"cycle_id": found.cycle.get("cycle_id")}
        context.log_event(
            dg.AssetMaterialization(BATCH, partition=name, metadata=checked.metadata | cycle)
        )
        context.log_event(_evaluation(BATCH, VALIDATION, checked, partition=name))


def _severity(checked: "Checked") -> dg.AssetCheckSeverity:
    return dg.AssetCheckSeverity.ERROR if checked.severe else dg.AssetCheckSeverity.WARN


def _evaluation(
    key: dg.AssetKey, name: str, checked: "Checked", partition: str | None = None
) -> dg.AssetCheckEvaluation:
    """A check's verdict as the cycle logs it (for one partition of a partitioned asset)."""
    return dg.AssetCheckEvaluation(
        asset_key=key,
        check_name=name,
        passed=checked.passed,
        severity=_severity(checked),
        description=checked.description,
        metadata=checked.metadata,
        partition=partition,
    )


def _result(checked: "Checked") -> dg.AssetCheckResult:
    """A check's verdict as a check run on demand returns it."""
    return dg.AssetCheckResult(
        passed=checked.passed,
        severity=_severity(checked),
        description=checked.description,
        metadata=checked.metadata,
    )


def _materializations(found: "CycleRecords") -> Iterator[dg.MaterializeResult[None]]:
    """The assets the cycle changed, each with riskwatch's record and the cycle's."""
    cycle = {f"cycle_{key}": value for key, value in found.cycle.items()}
    for key, values in (
        (MODEL_VERSION, found.model_version),
        (DEPLOYMENT, found.deployment),
        (CALL_LIST, found.call_list),
        (REPORT, found.report),
    ):
        if values is not None:
            yield dg.MaterializeResult(asset_key=key, metadata=values | cycle)


@dg.asset_check(asset=BATCH, name=VALIDATION)
def batch_validation() -> dg.AssetCheckResult:
    """Validation of the newest batch, from riskwatch's lineage record (run on demand)."""
    # Each cycle logs this check's verdict per batch (partition); run alone it judges the newest
    # batch: a check per partition is a preview in Dagster 1.13 that jobs cannot select yet.
    return _validated()


def _validated() -> dg.AssetCheckResult:
    from riskwatch.dagster.records import validation  # noqa: PLC0415 - at run time only
    from riskwatch.storage import open_store  # noqa: PLC0415

    with open_store(current_settings()) as store:
        records = store.batches()
    if not records:
        return dg.AssetCheckResult(passed=False, description="no batch ingested yet")
    return _result(validation(records[-1]))


@dg.asset_check(asset=MODEL_VERSION, name=GATE)
def promotion_gate() -> dg.AssetCheckResult:
    """The promotion gate's last decision, from riskwatch's promotions table (run on demand)."""
    from riskwatch.dagster.records import decision  # noqa: PLC0415 - at run time only

    found = decision(current_settings())
    if found is None:
        return dg.AssetCheckResult(passed=False, description="no gate decision recorded yet")
    return _result(found)


riskwatch_cycle = dg.define_asset_job(
    "riskwatch_cycle",
    selection=dg.AssetSelection.assets(cycle_assets).without_checks(),  # the cycle logs them
    description="One monitored cycle of the workspace (as `riskwatch run`), trigger dagster.",
    tags={"riskwatch": "cycle"},  # a run queue can hold these to one at a time (docs/scaling.md)
)

every_10m = dg.ScheduleDefinition(
    name="riskwatch_every_10m",
    job=riskwatch_cycle,
    cron_schedule=cron_schedule(parse_interval(EVERY)),  # the crontab line's five fields
    description="As `riskwatch cron install --every 10m`: one cycle every 10 minutes.",
)


@dg.sensor(job=riskwatch_cycle, minimum_interval_seconds=60)
def new_batches(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """A partition per new batch of the source, and one cycle to ingest them all."""
    from riskwatch.ingestion import check  # noqa: PLC0415 - the cycle's own no-new-data check

    settings = current_settings()
    found = check(settings)
    if not found.new:
        return dg.SensorResult(skip_reason=f"no new data in {found.source}")
    names = [b.name for b in found.new]
    known = context.instance.get_dynamic_partitions(BATCHES_NAME)
    added = [name for name in names if name not in known]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=run_key(found.new))],
        dynamic_partitions_requests=[BATCHES.build_add_request(added)] if added else [],
    )


def run_key(batches: list["Batch"]) -> str:
    """The same new batches ask for one cycle, however often the sensor sees them."""
    seen = "\n".join(f"{b.name}\t{b.sha256}\t{b.watermark_high}" for b in batches)
    return hashlib.sha256(seen.encode()).hexdigest()


def build_definitions() -> dg.Definitions:
    """Everything Dagster loads from riskwatch: light, reading no settings."""
    return dg.Definitions(
        assets=[batch_asset, cycle_assets],
        asset_checks=[batch_validation, promotion_gate],
        jobs=[riskwatch_cycle],
        schedules=[every_10m],
        sensors=[new_batches],
    )
