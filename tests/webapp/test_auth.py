"""The pages' session cookies and sign-in rules, without a server."""

from __future__ import annotations

import asyncio
import dataclasses
import stat
from pathlib import Path
from typing import Any

from riskwatch.config import Settings
from riskwatch.webapp.auth import KEY_FILE, Session, Sessions, Signer, safe_next, workspace_key


def settings_in(folder: Path, token: str) -> Settings:
    """Default settings of a workspace folder with an API token."""
    return dataclasses.replace(Settings(), workspace=folder, api_token=token)


def test_the_session_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = workspace_key(tmp_path)
    assert workspace_key(tmp_path) == first
    assert len(first) == 32
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


def test_a_signed_session_reads_back_and_a_tampered_one_does_not(tmp_path: Path) -> None:
    signer = Signer(settings_in(tmp_path, "a-token"))
    session = Session.new()
    session.sign_in(signer.fingerprint())
    value = signer.dump(session)
    found = signer.load(value)
    assert found is not None and found.csrf == session.csrf
    assert found.signed_in(signer.fingerprint())
    data, _, signature = value.partition(".")
    assert signer.load(f"{data}x.{signature}") is None
    assert signer.load(f"{data}.{'0' * len(signature)}") is None
    assert signer.load("not a cookie") is None


def test_a_changed_api_token_signs_everybody_out(tmp_path: Path) -> None:
    session = Session.new()
    session.sign_in(Signer(settings_in(tmp_path, "old-token")).fingerprint())
    assert not session.signed_in(Signer(settings_in(tmp_path, "new-token")).fingerprint())


def test_signing_in_and_out_changes_the_csrf_token(tmp_path: Path) -> None:
    signer, session = Signer(settings_in(tmp_path, "a-token")), Session.new()
    before = session.csrf
    session.sign_in(signer.fingerprint())
    assert session.csrf != before
    signed_in = session.csrf
    session.sign_out()
    assert session.csrf != signed_in and not session.signed_in(signer.fingerprint())


def test_after_sign_in_the_reader_goes_back_to_a_page_of_this_app_only() -> None:
    assert safe_next("/app/models?metric=f1", "/app") == "/app/models?metric=f1"
    for elsewhere in ("https://evil.example/app/", "//evil.example/app/", "/other", "/app\\x", ""):
        assert safe_next(elsewhere, "/app") == "/app/"


def cookies_set(tmp_path: Path, headers: list[tuple[bytes, bytes]]) -> list[str]:
    """The Set-Cookie headers the session middleware adds to a page's answer."""

    async def page(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "path": "/app/models", "headers": headers, "scheme": "http"}
    middleware = Sessions(page, signer=Signer(settings_in(tmp_path, "a-token")))
    asyncio.run(middleware(scope, receive, send))
    return [v.decode() for k, v in sent[0]["headers"] if k == b"set-cookie"]


def test_a_first_page_sets_a_strict_http_only_session_cookie(tmp_path: Path) -> None:
    (cookie,) = cookies_set(tmp_path, [])
    assert cookie.startswith("riskwatch_session=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/app" in cookie


def test_a_link_from_another_site_does_not_replace_the_session_cookie(tmp_path: Path) -> None:
    assert cookies_set(tmp_path, [(b"sec-fetch-site", b"cross-site")]) == []
