"""Typed settings of a workspace: defaults < config file < RISKWATCH_* environment < arguments."""

from __future__ import annotations

import dataclasses
import functools
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from riskwatch.config_values import (
    check_range,
    check_relations,
    convert,
    read_config_mapping,
    resolve_sqlite_url,
    setting,
)

# Settings are a stdlib dataclass rather than pydantic-settings: pydantic costs ~250 ms to
# import and build here, and loading settings sits on the no-new-data path cron runs most.

CONFIG_NAMES = ("riskwatch.toml", "config.json")
ENV_PREFIX = "RISKWATCH_"
# Environment variables in our namespace that are not settings (read by other parts of riskwatch).
NON_SETTING_ENV = frozenset({"RISKWATCH_CONFIG"})


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the key and where it came from."""


SourceKind = Literal["folder", "database"]
ExtraColumns = Literal["drop", "keep"]
FittedKind = Literal["logistic", "hgb", "classic"]
ModelKind = Literal["logistic", "hgb", "classic", "auto"]  # auto: chosen on the data
TrainingWindow = Literal["all", "recent", "decay"]
DriftRule = Literal["interval", "classic"]
RankBy = Literal["risk", "value"]
GateMetric = Literal["roc_auc", "pr_auc", "precision_at_k", "recall_at_k", "f1", "brier"]


# eq=False: comparing two Settings field by field is asked nowhere, and generating __eq__ and
# __hash__ for ~60 fields took 1.5-3 ms at import, on the path cron runs most.
@dataclass(frozen=True, kw_only=True, eq=False)
class Settings:
    """Every setting of riskwatch, typed, with its default and a description."""

    workspace: Path = field(default=Path(), metadata={"internal": True})
    config_file: Path | None = field(default=None, metadata={"internal": True})

    input_folder_path: Path = setting(
        Path("sourcedata"), "Folder watched for new data files (classic input_folder_path)."
    )
    output_folder_path: Path = setting(
        Path("ingesteddata"),
        "Folder of the master dataset finaldata.csv/.parquet, ingestedfiles.txt and quarantine/.",
    )
    test_data_path: Path = setting(
        Path("testdata"), "Folder (or file) of the labelled holdout data, testdata.csv."
    )
    output_model_path: Path = setting(
        Path("models"), "Folder of the immutable model versions (classic output_model_path)."
    )
    prod_deployment_path: Path = setting(
        Path("production_deployment"), "Folder of the deployed model and its records."
    )
    reports_path: Path = setting(Path("reports"), "Folder of plots, reports and API returns.")
    database_url: str = setting(
        "sqlite:///riskwatch.db",
        "SQLAlchemy URL of the metadata database; relative SQLite paths are in the workspace.",
    )
    source: SourceKind = setting("folder", "Where new data comes from: folder or database.")
    source_patterns: tuple[str, ...] = setting(
        ("*.csv", "*.parquet", "*.jsonl"), "File name patterns read from input_folder_path."
    )
    source_url: str = setting("", "SQLAlchemy URL of the source database (source = database).")
    source_table: str = setting("client_activity", "Table read from the source database.")
    source_query: str = setting(
        "", "SQL query read instead of source_table (its result needs the watermark column)."
    )
    source_watermark_column: str = setting(
        "id", "Growing column (id or timestamp) that tells new database rows from ingested ones."
    )
    extra_columns: ExtraColumns = setting(
        "drop", "Columns beyond the schema in incoming data: drop them or keep them."
    )
    read_chunk_rows: int = setting(500_000, "Rows read at a time from a large file.", minimum=1)

    model_kind: ModelKind = setting(
        "auto",
        "Model trained: auto (the best of the three by ROC AUC on a held-out 25 % from 2,000 "
        "training rows, else by cross-validation), hgb (gradient-boosted trees), logistic "
        "(log-scaled features and the activity ratio) or classic; see docs/models.md.",
    )
    model_seed: int = setting(0, "Seed of every random choice in training.", minimum=0)
    training_window: TrainingWindow = setting(
        "all", "Master data trained on: all, recent (the last N batches) or decay (weights)."
    )
    training_recent_batches: int = setting(
        3, "Batches trained on when training_window = recent.", minimum=1
    )
    training_half_life_batches: float = setting(
        3.0, "Age in batches at which a row weighs half, when training_window = decay.", minimum=0.1
    )
    retrain_window: TrainingWindow = setting(
        "recent",
        "Training data of a retrain the monitoring cycle starts on drift: recent (the last "
        "training_recent_batches batches, so the old world does not drown the new), decay or all.",
    )
    call_list_capacity: int = setting(
        100, "Clients the managers can call: the call-list size and K of precision at K.", minimum=1
    )
    call_list_rank_by: RankBy = setting(
        "risk",
        "Whom the call list puts first: risk (the likeliest to leave) or value (the largest "
        "expected loss: risk times call_list_value).",
    )
    call_list_value: str = setting(
        "lastyear_activity",
        "A client's value when call_list_rank_by = value: a client column (lastmonth_activity, "
        "lastyear_activity, number_of_employees) or arithmetic over them with numbers, "
        "+ - * / and parentheses.",
    )
    call_list_holdout_share: float = setting(
        0.10,
        "Share of each published call list held out as the control group, not to be called, so "
        "the team can see what calls achieve (0: none); below 1.",
        minimum=0.0,
        maximum=1.0,
    )
    decision_threshold: float = setting(
        0.5,
        "Risk at or above which a client is labelled as leaving (F1, precision, recall).",
        minimum=0.0,
        maximum=1.0,
    )
    risk_band_high: float = setting(
        0.5, "Risk at or above which a client is in the high band.", minimum=0.0, maximum=1.0
    )
    risk_band_medium: float = setting(
        0.2, "Risk at or above which a client is in the medium band.", minimum=0.0, maximum=1.0
    )
    bootstrap_resamples: int = setting(
        1000, "Bootstrap resamples behind each confidence interval (0: none).", minimum=0
    )
    gate_metric: GateMetric = setting(
        "roc_auc", "Holdout metric a challenger must beat the production model on."
    )
    gate_margin: float = setting(
        0.01, "How much higher the challenger's gate metric must be.", minimum=0.0
    )
    package_index_url: str = setting(
        "https://pypi.org/pypi", "Package index asked for the latest versions (its JSON API)."
    )
    package_index_timeout: float = setting(
        3.0, "Seconds to wait for the package index before saying unknown.", minimum=0.1
    )
    drift_rule: DriftRule = setting(
        "interval",
        "Retrain decision: interval (the recorded score is above the new score's bootstrap "
        "interval) or classic (the new F1 is lower at all).",
    )
    drift_metric: GateMetric = setting(
        "roc_auc", "Metric compared by the interval rule (the classic rule always uses F1)."
    )
    shadow_confidence: float = setting(
        0.8, "One-sided confidence of a shadow's gain bound.", minimum=0.5, maximum=0.999
    )
    shadow_refresh_growth: float = setting(
        2.0, "Refit rows, in production's, that refresh when not worse (0: off).", minimum=0.0
    )
    shadow_refresh_margin: float = setting(
        0.02, "How far below 0 a refresh's gain bound may be (non-inferiority).", minimum=0.0
    )
    drift_min_rows: int = setting(
        200, "Newly labelled rows needed before a score drop can ask for retraining.", minimum=1
    )
    drift_min_batch_rows: int = setting(
        10,
        "Rows of new data needed before data, prediction and multivariate drift are judged "
        "(fewer: not judged, no retrain asked).",
        minimum=1,
    )
    drift_ks_max_rows: int = setting(
        1000,
        "Rows (of the smaller sample: reference or batch) up to which data drift uses the KS test "
        "(Wasserstein above).",
        minimum=1,
    )
    drift_ks_p_value: float = setting(
        0.05, "KS p-value below which a feature has drifted.", minimum=0.0, maximum=1.0
    )
    drift_wasserstein_threshold: float = setting(
        0.1,
        "Wasserstein distance (in reference standard deviations) from which a feature has drifted.",
        minimum=0.0,
    )
    drift_psi_threshold: float = setting(
        0.2, "Population stability index from which a feature has drifted.", minimum=0.0
    )
    cycle_apicalls: bool = setting(
        False, "End each monitoring cycle by calling the running API at api_url (apicalls)."
    )
    api_url: str = setting(
        "http://127.0.0.1:8000", "Address of the running API that `riskwatch apicalls` calls."
    )
    api_token: str = setting(
        "",
        "Bearer token every API endpoint but /health requires (empty: none); "
        "best set as RISKWATCH_API_TOKEN.",
        secret=True,
    )
    webapp_require_signin_for_reads: bool = setting(
        False,
        "With api_token set, the web app's pages need a signed-in session to be read too "
        "(writes always do).",
    )
    api_timeout: float = setting(30.0, "Seconds `apicalls` waits for one answer.", minimum=0.1)
    api_max_clients: int = setting(
        100_000, "Most clients one POST /prediction may send.", minimum=1
    )
    api_max_body_bytes: int = setting(
        16 * 2**20, "Largest request body the API reads, in bytes.", minimum=1024
    )


def setting_fields() -> list[dataclasses.Field[Any]]:
    """The user-facing settings, in declaration order."""
    return list(_setting_fields().values())


@functools.cache
def _setting_fields() -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(Settings) if not f.metadata.get("internal")}


@functools.cache
def _setting_types() -> dict[str, Any]:
    # Once per process: evaluating the ~50 annotations (strings, by the __future__ import)
    # took 0.5 ms a call, and loading settings asked once per key given.
    return typing.get_type_hints(Settings)


def find_config_file(explicit: Path | None, cwd: Path | None = None) -> Path:
    """The config file to use: the explicit one, else ./riskwatch.toml, else ./config.json."""
    if explicit is not None:
        return explicit
    folder = cwd or Path.cwd()
    for name in CONFIG_NAMES:
        if (folder / name).is_file():
            return folder / name
    raise ConfigError(
        f"no configuration file: looked for {' and '.join(str(folder / n) for n in CONFIG_NAMES)}; "
        "pass --config PATH, or create a demo workspace with `riskwatch demo DIR`"
    )


def load_settings(
    config_file: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Read the config file, apply RISKWATCH_* variables and overrides, and resolve paths."""
    path = find_config_file(config_file, cwd).resolve()
    raw = _read_config_file(path)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        values[key] = _coerce(key, value, f"{path}: key '{key}'", from_text=False)
    for key, value in _env_values(os.environ if env is None else env).items():
        values[key] = _coerce(key, value, f"environment variable {ENV_PREFIX}{key.upper()}", True)
    for key, value in (overrides or {}).items():
        _check_known(key, f"argument '{key}'")
        values[key] = _coerce(key, value, f"argument '{key}'", from_text=False)
    return _resolve(Settings(**values), path)


def _read_config_file(path: Path) -> dict[str, Any]:
    """Parse a riskwatch.toml or config.json into a flat mapping of known keys."""
    try:
        data = read_config_mapping(path)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc.__cause__
    for key in data:
        _check_known(key, f"{path}: key '{key}'")
    return data


def _check_known(key: str, where: str) -> None:
    names = _setting_fields()
    if key not in names:
        import difflib  # noqa: PLC0415 - only a refused key needs it

        close = difflib.get_close_matches(key, list(names), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"{where}: unknown setting{hint}; see docs/configuration.md")


def _env_values(env: Mapping[str, str]) -> dict[str, str]:
    """RISKWATCH_<NAME> variables as {name: text}; an unknown one is an error, not ignored."""
    values = {}
    for var, text in env.items():
        if not var.startswith(ENV_PREFIX) or var in NON_SETTING_ENV:
            continue
        key = var.removeprefix(ENV_PREFIX).lower()
        _check_known(key, f"environment variable {var}")
        values[key] = text
    return values


def _coerce(key: str, value: Any, where: str, from_text: bool) -> Any:
    """Check one value against its setting's type; text from the environment is parsed."""
    kind = _setting_types()[key]
    try:
        converted = convert(kind, value, from_text)
        if kind in (int, float):
            check_range(converted, _setting_fields()[key].metadata)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    return converted


def _resolve(settings: Settings, config_file: Path) -> Settings:
    """Make every path absolute against the config file's folder, never the current directory."""
    workspace = config_file.parent
    changes: dict[str, Any] = {"workspace": workspace, "config_file": config_file}
    for f in setting_fields():
        value = getattr(settings, f.name)
        if isinstance(value, Path):
            changes[f.name] = workspace / value.expanduser()
    changes["database_url"] = resolve_sqlite_url(settings.database_url, workspace)
    changes["source_url"] = resolve_sqlite_url(settings.source_url, workspace)
    if settings.source == "database" and not settings.source_url:
        raise ConfigError(f"{config_file}: key 'source_url': required when source = 'database'")
    try:
        check_relations(settings)
    except ValueError as exc:
        raise ConfigError(f"{config_file}: {exc}") from exc
    return dataclasses.replace(settings, **changes)
