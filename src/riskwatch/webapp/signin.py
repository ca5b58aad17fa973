"""Sign-in and sign-out pages, the guard of every page when reads need sign-in, and the answer
to a refused write."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from riskwatch.webapp.auth import (
    RefusedError,
    check_post,
    check_signin,
    may_read,
    page_root,
    read_form,
    safe_next,
    session_of,
    signer_of,
)
from riskwatch.webapp.render import page

router = APIRouter()
FAILED_PAUSE = 0.5  # seconds: a wrong token answers slowly, so guessing is slow too


def reader(request: Request) -> None:
    """Send a reader who must sign in to the sign-in page, then back here."""
    if not may_read(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        where = f"{page_root(request)}/signin?{urlencode({'next': target})}"
        raise HTTPException(status_code=303, headers={"Location": where})


@router.get("/signin")
def signin_page(request: Request) -> Response:
    """The sign-in form (the API token); says so when this workspace has no token."""
    target = safe_next(request.query_params.get("next", ""), page_root(request))
    context = {"next": target, "error": ""}
    return page(request, "signin.html", context)


@router.post("/signin")
async def signin(request: Request) -> Response:
    """Sign in with the API token; back to the page that asked."""
    form = await read_form(request)
    check_post(request, form, signed_in=False)
    target = safe_next(form.get("next", ""), page_root(request))
    if not check_signin(request, form.get("token", "")):
        await asyncio.sleep(FAILED_PAUSE)
        context = {"next": target, "error": "That is not the API token."}
        return page(request, "signin.html", context, status=401)
    session_of(request).sign_in(signer_of(request).fingerprint())
    return RedirectResponse(target, status_code=303)


@router.post("/signout")
async def signout(request: Request) -> Response:
    """Sign out; back to the overview."""
    form = await read_form(request)
    check_post(request, form, signed_in=False)
    session_of(request).sign_out()
    return RedirectResponse(f"{page_root(request)}/", status_code=303)


async def refused(request: Request, exc: Exception) -> Response:
    """A write refused: a page that says why and what to do, with the status."""
    why = exc.why if isinstance(exc, RefusedError) else str(exc)
    status = exc.status if isinstance(exc, RefusedError) else 403
    context = {"why": why}
    return page(request, "refused.html", context, status=status)
