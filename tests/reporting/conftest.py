"""Helpers shared by the reporting tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from matplotlib.image import imread


def assert_picture(path: Path) -> None:
    """A readable PNG of at least 200 x 200 pixels, more than a few KB, not blank."""
    assert path.stat().st_size > 5_000, path
    pixels = imread(path)
    assert pixels.shape[0] >= 200 and pixels.shape[1] >= 200, (path, pixels.shape)
    assert float(np.var(pixels[..., :3])) > 0, path


def probe(code: str) -> str:
    """What a fresh interpreter running code writes on stderr; it must exit 0."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stderr
