"""The registry's skops: imported without every scikit-learn estimator, trusting ours alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

# A fresh process: skops.io is imported by the registry (this test process imports it itself).
PROBE = """
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from riskwatch.model.pipeline import ModelParams, predict_risk
from riskwatch.model.registry import RegistryError, load_model, save_version
from riskwatch.training import train_model

import threading
from riskwatch.model import registry

# Threads asking for skops at once (as the API's first requests may) each get it whole.
found = []
threads = [threading.Thread(target=lambda: found.append(registry._skops())) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("WHOLE", [hasattr(module, "load") for module in found])

rng = np.random.default_rng(0)
year = rng.integers(12, 2000, 300)
frame = pd.DataFrame({
    "corporation": [f"c{i}" for i in range(300)],
    "lastmonth_activity": (year / 12 * rng.uniform(0, 2, 300)).astype(int),
    "lastyear_activity": year,
    "number_of_employees": rng.integers(1, 300, 300),
    "exited": np.arange(300) % 3 == 0,
})
root = Path(sys.argv[1])
for kind in ("logistic", "hgb", "classic"):
    model = train_model(frame, ModelParams(kind=kind))
    loaded = load_model(root, save_version(root, model, {})["version"])
    assert np.array_equal(predict_risk(loaded, frame), predict_risk(model, frame)), kind
print("EVERY_ESTIMATOR_IMPORTED", "sklearn.gaussian_process" in sys.modules)

from sklearn.svm import SVC
from riskwatch.model.registry import MODEL_FILE, read_metadata
from riskwatch.storage.files import sha256_file, write_json_atomic
import skops.io as sio

version = save_version(root, model, {})["version"]
path = root / version / MODEL_FILE
sio.dump(SVC(), path)
write_json_atomic(
    root / version / "metadata.json",
    {**read_metadata(root, version), "sha256": sha256_file(path)},
)
try:
    load_model(root, version)
except RegistryError as exc:
    print("REFUSED", exc)
"""


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> str:
    """What the probe printed: one process for both tests (it trains and loads four models)."""
    folder = tmp_path_factory.mktemp("registry")
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(folder)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_models_of_every_kind_load_without_importing_every_scikit_learn_estimator(
    probed: str,
) -> None:
    # sklearn.gaussian_process: imported by skops' default list of every estimator, not by us.
    assert "EVERY_ESTIMATOR_IMPORTED False" in probed, probed


def test_a_scikit_learn_estimator_our_models_are_not_made_of_is_refused(probed: str) -> None:
    assert "types riskwatch does not trust: sklearn.svm._classes.SVC" in probed, probed


def test_threads_importing_skops_at_once_each_get_it_whole(probed: str) -> None:
    assert "WHOLE [True, True, True, True]" in probed, probed
