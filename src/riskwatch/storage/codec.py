"""Values as the metadata database holds them: JSON columns as text, watermarks with their type."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from riskwatch.storage.tables import JSON_COLUMNS


def encode_row(values: dict[str, Any]) -> dict[str, Any]:
    """A record's values with its JSON columns encoded as text (keys sorted: stable text)."""
    return {k: json.dumps(v, sort_keys=True) if k in JSON_COLUMNS else v for k, v in values.items()}


def encode_batch(values: dict[str, Any]) -> dict[str, Any]:
    """A batch's values as its columns hold them: missing counts and watermarks as JSON text."""
    out = dict(values)
    if "missing_values" in out:
        out["missing_values"] = json.dumps(out["missing_values"], sort_keys=True)
    for key in ("watermark_low", "watermark_high"):
        if key in out:
            out[key] = encode_watermark(out[key])
    return out


def encode_watermark(value: Any) -> str | None:
    """A watermark value as JSON text that keeps its type (int, text or timestamp)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return json.dumps({"datetime": value.isoformat()})
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    return json.dumps(value)


def decode_watermark(text: str | None) -> Any:
    """The watermark value recorded by encode_watermark."""
    if text is None:
        return None
    value = json.loads(text)
    if isinstance(value, dict) and "datetime" in value:
        return datetime.fromisoformat(value["datetime"])
    return value
