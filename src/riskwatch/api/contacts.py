"""Endpoints of the contact ledger: record the managers' calls, and list them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from riskwatch.api.deps import SettingsDep, StoreDep
from riskwatch.api.inputs import RequestError, field_name, read_body
from riskwatch.api.schemas import PROBLEMS
from riskwatch.config import Settings
from riskwatch.contacts.checks import check_contacts, known_clients
from riskwatch.contacts.ledger import count_contacts, list_contacts, record_contacts
from riskwatch.storage.store import Store

router = APIRouter()
MAX_CONTACTS = 10_000  # a request; a larger batch goes through `riskwatch contacts import`


class ContactIn(BaseModel):
    """One call, as a manager reports it (checked as the CSV import checks each line)."""

    model_config = ConfigDict(extra="forbid")

    corporation: StrictStr = Field(description="The client called (its corporation id).")
    contacted_at: StrictStr = Field(
        description="When: an ISO date or date-time, UTC unless it names a zone."
    )
    outcome: StrictStr = Field(description="reached, no_answer, saved, lost or declined.")
    note: StrictStr | None = None
    manager: StrictStr | None = Field(default=None, description="Who called.")


class ContactsIn(BaseModel):
    """Several calls, recorded all or none."""

    model_config = ConfigDict(extra="forbid")

    contacts: Annotated[list[ContactIn], Field(min_length=1, max_length=MAX_CONTACTS)]


# The request documents, read by hand (one contact or several), described inline for /docs.
ONE_SCHEMA = ContactIn.model_json_schema()
MANY_SCHEMA = {
    "title": "ContactsIn",
    "type": "object",
    "properties": {
        "contacts": {
            "type": "array",
            "items": ONE_SCHEMA,
            "minItems": 1,
            "maxItems": MAX_CONTACTS,
        }
    },
    "required": ["contacts"],
    "additionalProperties": False,
}


class ListLink(BaseModel):
    """The published list in effect when the call was made, which listed the client."""

    id: int
    published_at: str
    rank: int
    version: str = Field(description="The model that ranked the client there.")


class ContactOut(BaseModel):
    """A recorded call."""

    id: int
    corporation: str
    contacted_at: str
    outcome: str
    note: str | None
    manager: str | None
    list: ListLink | None = Field(description="None when no published list named the client.")
    recorded_at: str
    source: str = Field(description="The file and line it was imported from, or api.")


class ContactsRecorded(BaseModel):
    """What a POST recorded; contacts already in the ledger are counted, not stored again."""

    recorded: int
    already_recorded: int
    contacts: list[ContactOut]


class ContactsPage(BaseModel):
    """Recorded calls, the latest first."""

    total: int = Field(description="All the calls recorded (of the client, if one is asked).")
    contacts: list[ContactOut]


@router.post(
    "/contacts",
    status_code=201,
    response_model=ContactsRecorded,
    responses=PROBLEMS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"anyOf": [ONE_SCHEMA, MANY_SCHEMA]}}},
        }
    },
)
async def record(request: Request, settings: SettingsDep, store: StoreDep) -> JSONResponse:
    """Record one call, or several as {"contacts": [...]}: every one checked (a known client,
    an outcome, a date not in the future, none twice), then all recorded or none."""
    body = await read_body(request, settings.api_max_body_bytes)
    single, given = parse_contacts(body)
    answer = await run_in_threadpool(_record, settings, store, given, single)
    return JSONResponse(answer, status_code=201)


@router.get("/contacts", response_model=ContactsPage, responses=PROBLEMS)
def contacts_(
    store: StoreDep,
    client: Annotated[str | None, Query(max_length=200, description="one client's calls")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_CONTACTS, description="calls listed")] = 100,
) -> dict[str, Any]:
    """The recorded calls, the latest first, with the list each one came from."""
    return {
        "total": count_contacts(store, client=client),
        "contacts": list_contacts(store, client=client, limit=limit),
    }


def parse_contacts(body: bytes) -> tuple[bool, list[ContactIn]]:
    """Whether the body is one contact, and the contacts; 400 when it is not JSON, 422 naming
    each bad field."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(400, f"the body is not valid JSON: {exc}") from exc
    single = not (isinstance(document, dict) and "contacts" in document)
    try:
        if single:
            return True, [ContactIn.model_validate(document)]
        return False, ContactsIn.model_validate(document).contacts
    except ValidationError as exc:
        problems = exc.errors(include_url=False, include_input=False, include_context=False)
        errors = [_error(tuple(p["loc"]), p["msg"], single) for p in problems]
        raise _unprocessable(errors) from exc


def _error(loc: tuple[int | str, ...], message: str, single: bool) -> dict[str, Any]:
    position = 0 if single else loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    return {"field": field_name(loc), "position": position, "message": message}


def _unprocessable(errors: list[dict[str, Any]]) -> RequestError:
    shown = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    detail = f"{len(errors)} problem(s), nothing recorded: {shown}{more}"
    return RequestError(422, detail, errors)


def _field(position: int, name: str | None, single: bool) -> str:
    """Where a problem is: outcome for one contact, contacts[3].outcome for several."""
    if single:
        return name or "body"
    return field_name(("contacts", position, *((name,) if name else ())))


def _record(
    settings: Settings, store: Store, given: list[ContactIn], single: bool
) -> dict[str, Any]:
    """Check the contacts against the master dataset and record them, all or none."""
    values = [(at, contact.model_dump()) for at, contact in enumerate(given)]
    contacts, problems = check_contacts(
        values, known=known_clients(settings), now=datetime.now(UTC), unit="position"
    )
    if problems:
        raise _unprocessable(
            [
                {"field": _field(p.at, p.field, single), "position": p.at, "message": p.message}
                for p in sorted(problems, key=lambda p: p.at)
            ]
        )
    recorded = record_contacts(store, contacts)
    return {
        "recorded": len(recorded.contacts),
        "already_recorded": recorded.already,
        "contacts": recorded.contacts,
    }
