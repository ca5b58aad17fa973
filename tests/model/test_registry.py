"""Model versions: saved with skops, loaded only when unchanged and made of trusted types."""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from riskwatch.model.pipeline import ModelParams, predict_risk
from riskwatch.model.registry import (
    METADATA_FILE,
    MODEL_FILE,
    RegistryError,
    check_version,
    load_model,
    read_metadata,
    save_version,
    versions,
)
from riskwatch.training import train_model


def synthetic(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    year = rng.integers(12, 2000, rows)
    month = (year / 12 * rng.uniform(0, 2, rows)).astype(int)
    risk = 1 / (1 + np.exp(-(1.5 - 3 * month / (year / 12))))
    return pd.DataFrame(
        {
            "corporation": [f"c{i}" for i in range(rows)],
            "lastmonth_activity": month,
            "lastyear_activity": year,
            "number_of_employees": rng.integers(1, 300, rows),
            "exited": (rng.random(rows) < risk).astype(int),
        }
    )


@pytest.mark.parametrize("kind", ["logistic", "hgb", "classic"])
def test_saved_model_loads_and_predicts_the_same(tmp_path: Path, kind: str) -> None:
    frame = synthetic()
    model = train_model(frame, ModelParams(kind=kind))  # type: ignore[arg-type]
    saved = save_version(tmp_path, model, {"kind": kind}, frame)
    loaded = load_model(tmp_path, saved["version"])
    assert np.array_equal(predict_risk(loaded, frame), predict_risk(model, frame))
    assert versions(tmp_path) == [saved["version"]]
    folder = tmp_path / saved["version"]
    assert sorted(p.name for p in folder.iterdir()) == [
        METADATA_FILE,
        MODEL_FILE,
        "reference.parquet",
    ]
    assert read_metadata(tmp_path, saved["version"])["sha256"] == saved["sha256"]


def test_versions_are_new_folders_in_time_order(tmp_path: Path) -> None:
    model = train_model(synthetic(), ModelParams())
    first = save_version(tmp_path, model, {})["version"]
    second = save_version(tmp_path, model, {})["version"]
    assert versions(tmp_path) == [first, second]
    assert first < second
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_model_changed_by_one_byte_is_refused(tmp_path: Path) -> None:
    version = save_version(tmp_path, train_model(synthetic(), ModelParams()), {})["version"]
    path = tmp_path / version / MODEL_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(RegistryError, match=r"refusing to load: its sha256 is .* changed after"):
        load_model(tmp_path, version)


def _not_ours(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


def test_model_holding_an_untrusted_type_is_refused(tmp_path: Path) -> None:
    saved = save_version(tmp_path, train_model(synthetic(), ModelParams()), {})
    # A foreign file that passes the checksum (its record was rewritten too) still cannot load.
    foreign = Pipeline([("step", FunctionTransformer(_not_ours))])
    path = tmp_path / saved["version"] / MODEL_FILE
    sio.dump(foreign, path)
    metadata = read_metadata(tmp_path, saved["version"])
    from riskwatch.storage.files import sha256_file, write_json_atomic  # noqa: PLC0415

    write_json_atomic(
        tmp_path / saved["version"] / METADATA_FILE, {**metadata, "sha256": sha256_file(path)}
    )
    with pytest.raises(RegistryError, match=r"types riskwatch does not trust: .*_not_ours"):
        load_model(tmp_path, saved["version"])


def test_pickle_file_is_refused_as_not_a_skops_model(tmp_path: Path) -> None:
    saved = save_version(tmp_path, train_model(synthetic(), ModelParams()), {})
    path = tmp_path / saved["version"] / MODEL_FILE
    path.write_bytes(b"\x80\x04\x95cos\nsystem\n.")  # the start of a hostile pickle
    metadata = read_metadata(tmp_path, saved["version"])
    from riskwatch.storage.files import sha256_file, write_json_atomic  # noqa: PLC0415

    write_json_atomic(
        tmp_path / saved["version"] / METADATA_FILE, {**metadata, "sha256": sha256_file(path)}
    )
    with pytest.raises(RegistryError, match="not a readable skops model file"):
        load_model(tmp_path, saved["version"])


@pytest.mark.parametrize("text", ["../../etc/passwd", "latest", "2026-11-21T10.15.30Z", "/etc", ""])
def test_malformed_version_is_refused_before_any_path_is_built(text: str) -> None:
    with pytest.raises(RegistryError, match="not a model version"):
        check_version(text)


def test_unknown_version_names_the_newest(tmp_path: Path) -> None:
    saved = save_version(tmp_path, train_model(synthetic(), ModelParams()), {})
    with pytest.raises(
        RegistryError,
        match=f"no model version 2020-01-01T00.00.00.000000Z .* newest is {saved['version']}",
    ):
        load_model(tmp_path, "2020-01-01T00.00.00.000000Z")


class _Finalized:
    """Cyclic garbage whose finalizer runs Python code wherever the collector runs it."""

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        sum(range(20))


@contextmanager
def busy_process() -> Iterator[None]:
    """A process like a busy server: frequent collections running finalizers, quick thread
    switches; the conditions in which concurrent skops loads used to fail."""
    stop = threading.Event()

    def make_garbage() -> None:
        while not stop.wait(0.0001):
            for _ in range(100):
                _Finalized()

    switch, threshold = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(1e-6)
    gc.set_threshold(50)
    garbage = threading.Thread(target=make_garbage)
    garbage.start()
    try:
        yield
    finally:
        stop.set()
        garbage.join()
        sys.setswitchinterval(switch)
        gc.set_threshold(*threshold)


def test_many_threads_loading_models_at_once_all_succeed(tmp_path: Path) -> None:
    # skops parses numpy headers with ast.literal_eval, whose recursion counter CPython
    # 3.11.7 shares between threads (gh-106905): concurrent loads raised SystemError.
    frame = synthetic()
    saved = [
        save_version(tmp_path, train_model(frame, ModelParams(kind=kind)), {})  # type: ignore[arg-type]
        for kind in ("hgb", "logistic")
    ]
    expected = {
        s["version"]: predict_risk(load_model(tmp_path, s["version"]), frame) for s in saved
    }
    start = threading.Barrier(4)
    errors: list[str] = []
    loaded: list[str] = []

    def load_many(version: str) -> None:
        start.wait()
        for _ in range(5):
            try:
                model = load_model(tmp_path, version)
            except Exception as exc:  # any failure at all is what this test looks for
                errors.append(repr(exc))
                return
            if np.array_equal(predict_risk(model, frame), expected[version]):
                loaded.append(version)

    loaders = [
        threading.Thread(target=load_many, args=(saved[i % 2]["version"],)) for i in range(4)
    ]
    with busy_process():
        for loader in loaders:
            loader.start()
        for loader in loaders:
            loader.join()
    assert errors == []
    assert len(loaded) == 20
