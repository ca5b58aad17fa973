"""Immutable model versions (skops + sha256) and the pointer to the deployed one."""

from __future__ import annotations

import platform
import shutil
import sys
import tempfile
import threading
import zipfile
import zlib
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, LabelEncoder, StandardScaler

from riskwatch.model import layout

# Re-exported: defined in layout so that quick readers (`riskwatch status`) need no scikit-learn.
from riskwatch.model.layout import Deployed as Deployed  # noqa: PLC0414
from riskwatch.model.layout import RegistryError as RegistryError  # noqa: PLC0414
from riskwatch.model.layout import check_version as check_version  # noqa: PLC0414
from riskwatch.model.layout import read_deployment as read_deployment  # noqa: PLC0414
from riskwatch.model.pipeline import TRUSTED_TYPES
from riskwatch.storage.files import fsync_folder, read_json, sha256_file, write_json_atomic

# Defined in riskwatch.model.layout, which `riskwatch models` reads without importing scikit-learn.
VERSION_FORMAT, VERSION_PATTERN = layout.VERSION_FORMAT, layout.VERSION_PATTERN
METADATA_FILE, DEPLOYMENT_FILE = layout.METADATA_FILE, layout.DEPLOYMENT_FILE
MODEL_FILE = "model.skops"
REFERENCE_FILE = "reference.parquet"
# What skops raises on a file that is not a sound skops model (probed on truncated, foreign and
# edited files); anything else is a fault of this process, not of the file, and is not hidden.
BAD_FILE_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    ImportError,
    EOFError,
    OSError,
)
# Loads are serialised in the process: skops parses numpy headers with ast.literal_eval, whose
# recursion counter CPython <= 3.11.7 shares between threads (gh-106905), so two loads at once
# could fail with SystemError "AST constructor recursion depth mismatch".
_LOADING = threading.Lock()
_IMPORTING = threading.Lock()
# Models a caller already loaded, by the sha256 of their file: a cycle loads each file once.
Loaded = dict[str, Any]
# The scikit-learn estimators model.pipeline builds models of: with TRUSTED_TYPES, all that a
# model file may hold (see _skops).
MODEL_ESTIMATORS: tuple[type, ...] = (
    Pipeline,
    FunctionTransformer,
    StandardScaler,
    LogisticRegression,
    HistGradientBoostingClassifier,
    LabelEncoder,  # inside a fitted HistGradientBoostingClassifier
)
PACKAGES = ("riskwatch", "scikit-learn", "numpy", "pandas", "scipy", "skops", "pyarrow")


def new_version() -> str:
    """A fresh version string: the current UTC time."""
    return datetime.now(UTC).strftime(VERSION_FORMAT)


def versions(root: Path) -> list[str]:
    """The saved versions, oldest first."""
    return layout.saved_versions(root)


def version_folder(root: Path, version: str) -> Path:
    """The folder of an existing version."""
    folder = root / check_version(version)
    if not (folder / METADATA_FILE).is_file():
        known = versions(root)
        hint = f"; the newest is {known[-1]}" if known else "; none is saved yet (riskwatch train)"
        raise RegistryError(f"no model version {version} in {root}{hint}")
    return folder


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a saved model depends on."""
    return {name: installed_version(name) for name in ("python", *PACKAGES)}


def installed_version(name: str) -> str:
    """The installed version of a package (or of the interpreter: "python")."""
    if name == "python":
        return platform.python_version()
    try:
        return package_metadata.version(name)
    except package_metadata.PackageNotFoundError:
        return "not installed"


def save_version(
    root: Path, model: Any, metadata: dict[str, Any], reference: pd.DataFrame | None = None
) -> dict[str, Any]:
    """Save a model, its metadata and a reference sample as a new version; return the record."""
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        _skops().dump(model, staging / MODEL_FILE)
        if reference is not None:
            reference.to_parquet(staging / REFERENCE_FILE, index=False)
        for attempt in range(100):
            version = new_version()
            document = {**metadata, "version": version, "model_file": MODEL_FILE}
            document["sha256"] = sha256_file(staging / MODEL_FILE)
            write_json_atomic(staging / METADATA_FILE, document)
            try:
                # A folder appears whole or not at all; an existing version is never overwritten.
                staging.rename(root / version)
                fsync_folder(root)
                return document
            except OSError:
                if not (root / version).exists() or attempt == 99:
                    raise
        raise RuntimeError("unreachable")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def read_metadata(root: Path, version: str) -> dict[str, Any]:
    """The metadata recorded with a version."""
    path = version_folder(root, version) / METADATA_FILE
    document = read_json(path)
    if not isinstance(document, dict):
        raise RegistryError(f"{path}: unreadable metadata")
    return document


def load_model(root: Path, version: str, held: Loaded | None = None) -> Any:
    """The model of a version, refused if its file changed since it was saved."""
    folder = version_folder(root, version)
    sha256 = read_metadata(root, version).get("sha256", "")
    return load_verified(folder / MODEL_FILE, sha256, held)


def load_verified(path: Path, sha256: str, held: Loaded | None = None) -> Any:
    """Load a skops model file whose sha256 matches and which holds only trusted types; one
    already in held (checked when it was loaded) is reused, one loaded now is added to it."""
    if held is not None and sha256 in held:
        return held[sha256]
    model = _load_verified(path, sha256)
    if held is not None:
        held[sha256] = model
    return model


def _load_verified(path: Path, sha256: str) -> Any:
    if not path.is_file():
        raise RegistryError(f"{path}: the model file is missing")
    actual = sha256_file(path)
    if actual != sha256:
        raise RegistryError(
            f"{path}: refusing to load: its sha256 is {actual[:12]}…, the record says "
            f"{sha256[:12]}…; the file was changed after it was saved"
        )
    sio = _skops()
    trusted = [*TRUSTED_TYPES, *map(_type_name, MODEL_ESTIMATORS)]
    try:
        with _LOADING:
            # One parse of the file: load audits every type before it builds anything and
            # refuses an untrusted one; they are listed (a second parse) only for the refusal.
            try:
                return sio.load(path, trusted=trusted)
            except sio.exceptions.UntrustedTypesFoundException:
                untrusted = set(sio.get_untrusted_types(file=path)) - set(trusted)
    except BAD_FILE_ERRORS as exc:
        raise RegistryError(f"{path}: not a readable skops model file: {exc}") from exc
    raise RegistryError(
        f"{path}: refusing to load: it holds types riskwatch does not trust: "
        + ", ".join(sorted(untrusted))
    )


def load_deployed(prod_path: Path, held: Loaded | None = None) -> tuple[Deployed, Any]:
    """The deployed version and its model (from held if loaded); RegistryError when none is."""
    deployed = read_deployment(prod_path)
    if deployed is None:
        raise RegistryError(
            f"no model is deployed in {prod_path}: run `riskwatch train` then `riskwatch deploy`"
        )
    return deployed, load_verified(deployed.folder / MODEL_FILE, deployed.sha256, held)


def _skops() -> ModuleType:
    """skops.io, imported trusting by default only the estimators riskwatch's models are made of."""
    # Importing skops.io makes every scikit-learn estimator trusted by default, importing all
    # of scikit-learn's 340 modules to list them: 0.2-0.3 s of CPU on every command that loads a
    # model. Our models are made of the six in MODEL_ESTIMATORS, which skops is given instead
    # while it imports; a file holding any other estimator is refused, as one holding any
    # other type always was. Reading TRUSTED_TYPES with them, a load needs no default.
    import sklearn.utils  # noqa: PLC0415 - imported by model.pipeline already

    # Checked under the lock: a module being imported by another thread is in sys.modules
    # before it is whole.
    with _IMPORTING:
        if "skops.io" not in sys.modules:
            everything = sklearn.utils.all_estimators
            sklearn.utils.all_estimators = _model_estimators
            try:
                import skops.io  # noqa: F401, PLC0415
            finally:
                sklearn.utils.all_estimators = everything
    return sys.modules["skops.io"]


def _model_estimators(type_filter: Any = None) -> list[tuple[str, type]]:
    """What sklearn.utils.all_estimators gives skops while it imports: our models' estimators."""
    return [(estimator.__name__, estimator) for estimator in MODEL_ESTIMATORS]


def _type_name(kind: type) -> str:
    """A type's name as skops writes it in a file."""
    return f"{kind.__module__}.{kind.__name__}"
