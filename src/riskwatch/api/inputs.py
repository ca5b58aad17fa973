"""Turn a request into clients: the body read within its limit, JSON or CSV checked, or a data
file of the workspace found without ever leaving its data folders."""

from __future__ import annotations

import difflib
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from riskwatch.api.schemas import Client, PredictionRequest
from riskwatch.config import Settings
from riskwatch.ingestion.datasets import SUPPORTED, DataError, read_labelled
from riskwatch.schema import FEATURES, ID_COLUMN

COLUMNS = (ID_COLUMN, *FEATURES)


class RequestError(Exception):
    """A request riskwatch cannot answer: its HTTP status, what is wrong and where."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed the limit."""
    too_big = f"the request body is over the limit of {limit:,} bytes (setting api_max_body_bytes)"
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestError(413, too_big)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, too_big)
        chunks.append(chunk)
    return b"".join(chunks)


def field_name(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a path: clients[3].lastmonth_activity."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "body"


def parse_json(body: bytes) -> PredictionRequest:
    """The request document; 400 when it is not JSON, 422 naming each bad field."""
    try:
        return PredictionRequest.model_validate_json(body)
    except ValidationError as exc:
        problems = exc.errors(include_url=False, include_input=False, include_context=False)
        if any(p["type"] == "json_invalid" for p in problems):
            raise RequestError(400, f"the body is not valid JSON: {problems[0]['msg']}") from exc
        errors = []
        for problem in problems:
            loc = tuple(problem["loc"])
            position = loc[1] if len(loc) > 1 and loc[0] == "clients" else None
            message = problem["msg"]
            if problem["type"] == "extra_forbidden":
                message = unknown_field(str(loc[-1]), Client if position is not None else None)
            errors.append({"field": field_name(loc), "position": position, "message": message})
        # An unknown field first: it usually explains the "Field required" beside it.
        errors.sort(key=lambda e: not str(e["message"]).startswith("unknown field"))
        shown = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise RequestError(
            422, f"{len(errors)} problem(s) in the request: {shown}{more}", errors
        ) from exc


def unknown_field(name: str, model: type[BaseModel] | None) -> str:
    """Why a field is refused: unknown, with the closest known name."""
    known = list((model or PredictionRequest).model_fields)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"unknown field; did you mean {close[0]!r}?"
    return f"unknown field; the fields are {', '.join(known)}"


def clients_frame(request: PredictionRequest) -> pd.DataFrame:
    """The clients of a request as the model's input frame."""
    clients = request.clients or []
    return pd.DataFrame({c: [getattr(client, c) for client in clients] for c in COLUMNS})


def parse_csv(body: bytes) -> pd.DataFrame:
    """Clients from a CSV body with the classic columns (a label column is ignored)."""
    with tempfile.TemporaryDirectory(prefix="riskwatch-upload-") as folder:
        path = Path(folder) / "upload.csv"
        path.write_bytes(body)
        try:
            return read_labelled(path, require_target=False)
        except DataError as exc:
            raise RequestError(422, str(exc).replace(str(path), "the CSV body")) from exc


def data_roots(settings: Settings) -> list[Path]:
    """The folders (or file) a dataset name may point into."""
    return [settings.input_folder_path, settings.output_folder_path, settings.test_data_path]


def dataset_file(settings: Settings, name: str, field: str = "dataset") -> Path:
    """The data file a dataset name means, inside a data folder; anything else is refused."""
    roots = data_roots(settings)
    shown = ", ".join(_shown(root, settings.workspace) for root in roots)
    given = Path(name)
    if "\x00" in name or given.is_absolute() or ".." in given.parts:
        raise RequestError(400, f"{field} {name!r} is refused: name a data file inside {shown}")
    # "testdata.csv" inside a data folder, or "testdata/testdata.csv" from the workspace;
    # symlinks are resolved before the check, so none leads out.
    bases = [*(root for root in roots if root.is_dir()), settings.workspace]
    candidates = [Path(os.path.realpath(base / given)) for base in bases]
    for real in candidates:
        if _inside(real, *roots) and real.is_file() and real.suffix in SUPPORTED:
            return real
    if any(real.exists() and not _inside(real, *roots) for real in candidates):
        raise RequestError(400, f"{field} {name!r} is refused: it leads out of {shown}")
    raise RequestError(404, f"no data file ({', '.join(SUPPORTED)}) named {name!r} in {shown}")


def _shown(root: Path, workspace: Path) -> str:
    """A data folder as callers may see it: relative to the workspace, never the server's
    absolute layout."""
    try:
        return f"{root.resolve().relative_to(workspace.resolve())}/"
    except ValueError:
        return f"{root.name}/"


def _inside(path: Path, *roots: Path) -> bool:
    for root in roots:
        real_root = Path(os.path.realpath(root))
        if path == real_root and real_root.is_file():
            return True
        if real_root.is_dir() and path.is_relative_to(real_root) and path != real_root:
            return True
    return False


def read_dataset(settings: Settings, name: str, field: str = "dataset") -> pd.DataFrame:
    """The clients of a workspace data file; 422 naming the line of any bad row."""
    path = dataset_file(settings, name, field)
    try:
        return read_labelled(path, require_target=False)
    except DataError as exc:  # named as the caller named it, not by the server's path
        raise RequestError(422, str(exc).replace(str(path), name)) from exc
