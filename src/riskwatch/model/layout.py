"""Names in the model registry's folders: importable without scikit-learn, for quick readers."""

from __future__ import annotations

import re
from pathlib import Path

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
