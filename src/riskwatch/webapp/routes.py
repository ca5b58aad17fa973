"""The pages' handlers: each reads its query, builds view data, renders a template."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from riskwatch.webapp.calllist import (
    ListQuery,
    csv_text,
    page_of,
    read_published,
    reason_choices,
    select,
)
from riskwatch.webapp.clients import client_view
from riskwatch.webapp.estimates import expected_leavers_line
from riskwatch.webapp.render import context_root, is_partial, page
from riskwatch.webapp.sources import Sources, sources_of
from riskwatch.webapp.values import with_values

router = APIRouter()
SourcesDep = Annotated[Sources, Depends(sources_of)]


@router.get("/calllist")
def calllist(request: Request, sources: SourcesDep) -> Response:
    """The published call list, filtered, sorted and paged; the table region alone for htmx."""
    query = ListQuery.parse(request.query_params)
    store = sources.store()
    published = read_published(store)
    items = with_values(store, published.items) if published else []
    context = {
        "nav": "calllist",
        "published": published,
        "query": query,
        "page": page_of(select(items, query), query),
        "reasons": reason_choices(items),
        "by_value": any(item.expected_loss is not None for item in items),
        "expected": expected_leavers_line(store, published.cycle_id) if published else "",
    }
    if not is_partial(request):
        return page(request, "calllist.html", context)
    answer = page(request, "calllist_region.html", context)
    # The address bar shows the canonical query (a form sends its empty fields too).
    answer.headers["HX-Push-Url"] = f"{context_root(request)}/calllist{query.link()}"
    return answer


@router.get("/calllist.csv")
def calllist_csv(request: Request, sources: SourcesDep) -> Response:
    """Every row the same filters select, in the same order, as CSV (all pages)."""
    query = ListQuery.parse(request.query_params)
    store = sources.store()
    published = read_published(store)
    selected = select(with_values(store, published.items) if published else [], query)
    stamp = published.published_at[:10] if published else "none"
    return Response(
        csv_text(selected),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="calllist-{stamp}.csv"'},
    )


@router.get("/clients/{client:path}")  # an id may hold a "/"
def client_page(request: Request, client: str, sources: SourcesDep) -> Response:
    """One client: its risk on each published list, its risk now, its activity per drop."""
    view = client_view(sources, client)
    if view is None:
        message = f"No client {client} in this workspace's data or published call lists."
        return page(request, "not_found.html", {"message": message}, status=404)
    return page(request, "client.html", {"nav": "calllist", "view": view})
