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
from riskwatch.webapp.render import is_partial, page
from riskwatch.webapp.sources import Sources, sources_of

router = APIRouter()
SourcesDep = Annotated[Sources, Depends(sources_of)]


@router.get("/calllist")
def calllist(request: Request, sources: SourcesDep) -> Response:
    """The published call list, filtered, sorted and paged; the table region alone for htmx."""
    query = ListQuery.parse(request.query_params)
    published = read_published(sources.store())
    items = published.items if published else []
    context = {
        "nav": "calllist",
        "published": published,
        "query": query,
        "page": page_of(select(items, query), query),
        "reasons": reason_choices(items),
    }
    template = "calllist_region.html" if is_partial(request) else "calllist.html"
    return page(request, template, context)


@router.get("/calllist.csv")
def calllist_csv(request: Request, sources: SourcesDep) -> Response:
    """Every row the same filters select, in the same order, as CSV (all pages)."""
    query = ListQuery.parse(request.query_params)
    published = read_published(sources.store())
    selected = select(published.items if published else [], query)
    stamp = published.published_at[:10] if published else "none"
    return Response(
        csv_text(selected),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="calllist-{stamp}.csv"'},
    )
