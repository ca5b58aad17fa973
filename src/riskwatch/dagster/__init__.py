"""Dagster's entry to riskwatch (extra riskwatch[dagster]): `dagster ... -m riskwatch.dagster`.

Dagster looks for a module-level Definitions; building it reads no settings and imports none of
riskwatch's heavy steps, which each run imports when it starts.
"""

from riskwatch.dagster.definitions import build_definitions

defs = build_definitions()

__all__ = ["build_definitions", "defs"]
