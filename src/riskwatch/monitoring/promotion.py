"""When the shadow challenger is promoted: a gain beyond noise, or a refresh on more data that is
not worse beyond a margin (non-inferiority); the rule and its numbers in words."""

from __future__ import annotations

from typing import Any

from riskwatch.config import Settings
from riskwatch.model.registry import read_deployment, read_metadata


def promotion_rule(
    settings: Settings, refit_rows: int, low: float | None, production_rows: int | None
) -> str | None:
    """What promotes the challenger: "gain" when its gain's bound is above 0, "refresh" when
    its refit trains on shadow_refresh_growth times production's rows and the bound is above
    -shadow_refresh_margin; None keeps production."""
    if low is None:
        return None
    if low > 0.0:
        return "gain"
    growth = settings.shadow_refresh_growth
    if growth <= 0 or not production_rows or refit_rows < growth * production_rows:
        return None
    return "refresh" if low > -settings.shadow_refresh_margin else None


def deployed_metadata(settings: Settings) -> dict[str, Any]:
    """What the deployed model's version recorded (nothing deployed: empty)."""
    current = read_deployment(settings.prod_deployment_path)
    if current is None:
        return {}
    found: dict[str, Any] = read_metadata(settings.output_model_path, current.version)
    return found


def deployed_rows(metadata: dict[str, Any]) -> int | None:
    """The deployed model's training rows, as its version recorded them."""
    rows = (metadata.get("training") or {}).get("rows")
    return int(rows) if isinstance(rows, int) else None


def rule_words(
    settings: Settings, rule: str | None, refit_rows: int, production_rows: int | None
) -> str:
    """The rule applied and its outcome, in words."""
    if rule == "gain":
        return "better beyond noise"
    growth, margin = settings.shadow_refresh_growth, settings.shadow_refresh_margin
    if growth <= 0 or not production_rows:
        return "not better beyond noise"
    data = (
        f"its refit trains on {refit_rows:,} rows, {refit_rows / production_rows:.1f} times "
        f"production's {production_rows:,} (a refresh needs {growth:g} times and a bound above "
        f"-{margin:g})"
    )
    if rule == "refresh":
        return f"not better beyond noise, not worse either, and {data}: a refresh on more data"
    return f"not better beyond noise; {data}"
