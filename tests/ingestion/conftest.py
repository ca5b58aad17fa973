"""Helpers shared by the ingestion tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from riskwatch.config import Settings

AddFile = Callable[[str, str | bytes], Path]
MakeSettings = Callable[..., Settings]


def master(settings: Settings) -> pd.DataFrame:
    return pd.read_csv(settings.output_folder_path / "finaldata.csv")
