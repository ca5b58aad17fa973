"""Names in the model registry's folders: importable without scikit-learn, for quick readers."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskwatch.errors import RiskwatchError
from riskwatch.storage.files import read_json

# Kedro's version format: a UTC timestamp that sorts as text in time order and is a safe name.
VERSION_FORMAT = "%Y-%m-%dT%H.%M.%S.%fZ"
VERSION_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}\.\d{6}Z")
METADATA_FILE = "metadata.json"
DEPLOYMENT_FILE = "deployment.json"


def saved_versions(root: Path) -> list[str]:
    """The versions saved in root, oldest first."""
    if not root.is_dir():
        return []
    names = (p.name for p in root.iterdir() if p.is_dir())
    return sorted(name for name in names if VERSION_PATTERN.fullmatch(name))


class RegistryError(RiskwatchError):
    """A model version that does not exist or cannot be trusted."""


@dataclass(frozen=True)
class Deployed:
    """What production holds: a version, when and why it got there, in a folder."""

    version: str
    deployed_at: str
    reason: str
    previous_version: str | None
    sha256: str
    folder: Path

    def to_dict(self) -> dict[str, Any]:
        """The deployment as JSON-ready values."""
        return {
            "version": self.version,
            "deployed_at": self.deployed_at,
            "reason": self.reason,
            "previous_version": self.previous_version,
            "sha256": self.sha256,
        }


def check_version(text: str) -> str:
    """The version string if it is well formed; checked before any path is built from it."""
    if not VERSION_PATTERN.fullmatch(text):
        raise RegistryError(
            f"not a model version: {text!r}; versions look like 2026-11-21T10.15.30.123456Z "
            "(see `riskwatch models`)"
        )
    return text


def read_deployment(prod_path: Path) -> Deployed | None:
    """The deployment production holds, or None when nothing is deployed."""
    # Resolve the pointer once, so the record and the model come from the same deployment
    # even when a new one is switched in meanwhile.
    folder = Path(os.path.realpath(prod_path))
    document = read_json(folder / DEPLOYMENT_FILE)
    if not isinstance(document, dict):
        return None
    return Deployed(
        version=check_version(str(document["version"])),
        deployed_at=str(document["deployed_at"]),
        reason=str(document.get("reason", "")),
        previous_version=document.get("previous_version"),
        sha256=str(document["sha256"]),
        folder=folder,
    )


def unrecorded_record(deployed: Deployed, last: dict[str, Any] | None) -> dict[str, Any] | None:
    """The record of the deployment in production when the last recorded one is another."""
    if last is not None and last["version"] == deployed.version:
        return None
    return {
        "version": deployed.version,
        "action": "recovered",
        "reason": f"found in production without a record ({deployed.reason})",
        "previous_version": last["version"] if last else None,
        "deployed_at": deployed.deployed_at,
    }
