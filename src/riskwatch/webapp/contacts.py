"""The call list's row form: a manager records a call's outcome, and the row shows it."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from riskwatch.contacts.checks import check_contacts
from riskwatch.contacts.ledger import Contact, last_contacts, record_contacts
from riskwatch.webapp.auth import RefusedError, check_post, read_form, safe_next
from riskwatch.webapp.calllist import Item, ListQuery, read_published
from riskwatch.webapp.render import context_root, is_partial, page
from riskwatch.webapp.sources import Sources, sources_of
from riskwatch.webapp.values import with_values

log = logging.getLogger(__name__)
router = APIRouter()
SourcesDep = Annotated[Sources, Depends(sources_of)]
MANAGER = "web"  # who a page's contact is from: a session is signed in with the token, no name
SOURCE = "web"


@router.post("/calllist/contacts")
async def record_contact(request: Request, sources: SourcesDep) -> Response:
    """Record a call on a listed client; htmx gets the row back, a plain form goes back to
    the list it came from (post, redirect, get)."""
    form = await read_form(request)
    check_post(request, form)
    item = await run_in_threadpool(_record, sources, form)
    root = context_root(request)
    if is_partial(request):
        query = ListQuery.parse(dict(request.query_params))
        context = {"row": item, "query": query, "here": f"{root}/calllist", "recorded": True}
        return page(request, "calllist_row.html", context)
    back = safe_next(form.get("back", ""), root)
    return RedirectResponse(
        back if back.startswith(f"{root}/calllist") else f"{root}/calllist", 303
    )


def _record(sources: Sources, form: dict[str, str]) -> Item:
    """Check and record the form's call; the listed row with its new last contact."""
    store = sources.store()
    published = read_published(store)
    items = with_values(store, published.items) if published else []
    listed = {item.client: item for item in items}
    values = {
        "corporation": form.get("corporation", ""),
        "contacted_at": datetime.now(UTC).isoformat(),
        "outcome": form.get("outcome", ""),
        "note": form.get("note", ""),
        "manager": MANAGER,
    }
    contacts, problems = check_contacts(
        [(1, values)], known=set(listed), now=datetime.now(UTC), unit="form"
    )
    if problems:
        why = "; ".join(f"{p.field or 'contact'}: {p.message}" for p in problems)
        raise RefusedError(422, f"Not recorded: {why}.")
    contact: Contact = replace(contacts[0], source=SOURCE)
    record_contacts(store, [contact])
    log.info("contact recorded from the web app: %s %s", contact.corporation, contact.outcome)
    last = last_contacts(store, {contact.corporation}).get(contact.corporation) or {}
    return replace(
        listed[contact.corporation],
        last_contacted_at=last.get("contacted_at"),
        last_outcome=last.get("outcome"),
    )
