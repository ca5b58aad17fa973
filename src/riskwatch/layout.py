"""Names in the model registry's folders: importable without scikit-learn, for quick readers."""

from __future__ import annotations

import re

# Kedro's version format: a UTC timestamp that sorts as text in time order and is a safe name.
VERSION_FORMAT = "%Y-%m-%dT%H.%M.%S.%fZ"
VERSION_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}\.\d{6}Z")
METADATA_FILE = "metadata.json"
DEPLOYMENT_FILE = "deployment.json"
