"""The versions riskwatch depends on: installed, latest on the index, recorded with the model."""

from __future__ import annotations

from typing import Any

from riskwatch.config import Settings
from riskwatch.diagnostics.packageindex import UNKNOWN, latest_versions
from riskwatch.model.registry import PACKAGES, installed_version


def check_dependencies(settings: Settings, recorded: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Installed, latest and recorded-with-the-model versions of what riskwatch depends on."""
    # riskwatch is this project: an unrelated package of that name may exist on the index.
    asked = [name for name in PACKAGES if name != "riskwatch"]
    latest = latest_versions(settings.package_index_url, asked, settings.package_index_timeout)
    latest["riskwatch"] = ("local", "this project: not looked up on the index")
    latest["python"] = ("n/a", "the interpreter: not looked up on the index")
    rows = []
    for name in ("python", *PACKAGES):
        installed, was = installed_version(name), (recorded or {}).get(name)
        row = {"name": name, "installed": installed, "recorded": was}
        row["latest"], row["reason"] = latest[name]
        row["changed_since_training"] = None if was is None else was != installed
        rows.append(row)
    return rows


def dependencies_text(part: list[dict[str, Any]]) -> list[str]:
    """Stored dependency rows, one line each."""
    lines = ["Dependencies: installed, latest, at training"]
    for row in part:
        latest = row["latest"] + (f" ({row['reason']})" if row["latest"] == UNKNOWN else "")
        changed = ", CHANGED since training" if row["changed_since_training"] else ""
        lines.append(
            f"  {row['name']}: {row['installed']}, {latest}, {row['recorded'] or 'n/a'}{changed}"
        )
    return lines
