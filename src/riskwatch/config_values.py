"""Setting values: declared (`setting`), converted to the declared type, checked against the
range, anchored paths."""

from __future__ import annotations

import json
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any, Literal

from riskwatch.config_expression import check_value_expression

MAX_INTEGER = 2**63 - 1


def setting(
    default: Any,
    help: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    secret: bool = False,
) -> Any:
    """Declare a setting: its default, a description, for numbers its range; secrets stay out
    of reprs (and so of log lines and tracebacks)."""
    if isinstance(default, list | dict):
        raise TypeError("use a tuple for sequence defaults")
    metadata = {"help": help, "minimum": minimum, "maximum": maximum}
    return field(default=default, repr=not secret, metadata=metadata)


def check_range(value: float, metadata: Mapping[str, Any]) -> None:
    """ValueError when a number is outside its setting's minimum and maximum."""
    low, high = metadata.get("minimum"), metadata.get("maximum")
    if low is not None and value < low:
        raise ValueError(f"must be at least {low}, got {value!r}")
    if high is not None and value > high:
        raise ValueError(f"must be at most {high}, got {value!r}")


def convert(kind: Any, value: Any, from_text: bool) -> Any:
    """A value as the type a setting declares (text from the environment parsed); TypeError or
    ValueError says why it cannot be."""
    origin = typing.get_origin(kind)
    if origin is Literal:
        choices = typing.get_args(kind)
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, got {value!r}")
        return value
    if origin is tuple:
        if from_text and isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise TypeError(f"must be a list of strings, got {value!r}")
        return tuple(value)
    if origin in (types.UnionType, typing.Union):
        raise TypeError("optional settings are not supported")
    return _convert_scalar(kind, value, from_text)


def _convert_scalar(kind: Any, value: Any, from_text: bool) -> Any:
    if kind is bool:
        if from_text and isinstance(value, str) and value.lower() in {"1", "true", "yes", "on"}:
            return True
        if from_text and isinstance(value, str) and value.lower() in {"0", "false", "no", "off"}:
            return False
        if not isinstance(value, bool):
            raise TypeError(f"must be true or false, got {value!r}")
        return value
    if kind is int:
        if from_text and isinstance(value, str):
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"must be a whole number, got {value!r}")
        if abs(value) > MAX_INTEGER:  # later arithmetic (numpy, SQL) holds 64-bit integers
            raise ValueError(f"must be at most {MAX_INTEGER:,}, got {value!r}")
        return value
    if kind is float:
        if from_text and isinstance(value, str):
            value = float(value.strip())
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise TypeError(f"must be a finite number, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise TypeError(f"must be a string, got {value!r}")
    return Path(value) if kind is Path else value


def resolve_sqlite_url(url: str, workspace: Path) -> str:
    """Anchor a relative SQLite database path in the workspace."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return url
    rest = url.removeprefix(prefix)
    database = rest.split("?", 1)[0]
    if not database or database == ":memory:" or Path(database).is_absolute():
        return url
    return prefix + str(workspace / rest)


def read_config_mapping(path: Path) -> dict[str, Any]:
    """A riskwatch.toml or config.json as a mapping; ValueError says what is wrong, and where."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the configuration file: {exc}") from exc
    try:
        data: Any = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the configuration must be a table of key = value settings")
    return data


def check_relations(settings: Any) -> None:
    """Settings that constrain each other or need parsing; ValueError names the key and why."""
    try:
        check_value_expression(settings.call_list_value)
    except ValueError as exc:
        raise ValueError(f"key 'call_list_value': {exc}") from exc
    if settings.call_list_holdout_share >= 1.0:
        raise ValueError(
            f"key 'call_list_holdout_share' ({settings.call_list_holdout_share}) must be below 1: "
            "a list whose clients are all held out has nobody to call"
        )
    if settings.risk_band_medium > settings.risk_band_high:
        raise ValueError(
            f"key 'risk_band_medium' ({settings.risk_band_medium}) must not be above "
            f"risk_band_high ({settings.risk_band_high})"
        )
