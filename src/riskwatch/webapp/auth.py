"""Who may use the pages: a signed session cookie, sign-in with the API token, and a CSRF token
plus an Origin check on every POST.

The cookie is signed with a key kept in the workspace (created once, readable by its owner
only), so every `serve --workers N` process, and a restarted server, accepts it. It holds no
secret: a CSRF token, when its holder signed in, and a fingerprint of the API token then in use
(a changed token signs everybody out).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from riskwatch.config import Settings
from riskwatch.webapp.render import PREFIX

log = logging.getLogger(__name__)

COOKIE = "riskwatch_session"
KEY_FILE = ".riskwatch-webapp.key"
SCOPE_KEY = "riskwatch.session"
SIGNED_IN_SECONDS = 12 * 3600  # a sign-in lasts a working day
MAX_FORM_BYTES = 64 * 1024  # the pages' forms are a few fields


class RefusedError(Exception):
    """A write the session may not make: why, and the status to answer with."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


@dataclass
class Session:
    """One browser's session: its CSRF token and, once signed in, when and with which token."""

    csrf: str
    signed_in_at: float | None = None
    token: str = ""  # fingerprint of the API token used to sign in
    changed: bool = False  # the cookie must be written again

    @classmethod
    def new(cls) -> Session:
        """A fresh session, not signed in, to be written as a cookie."""
        return cls(csrf=secrets.token_urlsafe(32), changed=True)

    def signed_in(self, fingerprint: str) -> bool:
        """Signed in with the current API token, within the last working day."""
        if self.signed_in_at is None or not hmac.compare_digest(self.token, fingerprint):
            return False
        return time.time() - self.signed_in_at < SIGNED_IN_SECONDS

    def sign_in(self, fingerprint: str) -> None:
        """Signed in now; a new CSRF token, so a token seen before sign-in is worth nothing."""
        self.csrf, self.signed_in_at, self.token = (
            secrets.token_urlsafe(32),
            time.time(),
            fingerprint,
        )
        self.changed = True

    def sign_out(self) -> None:
        """Signed out, with a new CSRF token."""
        self.csrf, self.signed_in_at, self.token = secrets.token_urlsafe(32), None, ""
        self.changed = True


def workspace_key(workspace: Path) -> bytes:
    """The workspace's signing key: read, or made once (atomically) when there is none."""
    path = workspace / KEY_FILE
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        pass
    temporary = path.with_name(f"{KEY_FILE}.{os.getpid()}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
        with contextlib.suppress(FileExistsError):  # another process made it first: theirs wins
            os.link(temporary, path)
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except OSError as exc:
        # A read-only workspace: sessions then last as long as this process.
        log.warning("cannot keep the web app's session key in %s (%s)", path, exc)
        return secrets.token_bytes(32)
    finally:
        temporary.unlink(missing_ok=True)


class Signer:
    """Writes and reads session cookies signed with the workspace's key."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        """The key, read (or made) on first use rather than when the app is built."""
        if self._key is None:
            self._key = workspace_key(self.settings.workspace)
        return self._key

    def fingerprint(self) -> str:
        """What the session remembers of the API token: a keyed hash, never the token."""
        digest = hmac.new(self.key, self.settings.api_token.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def dump(self, session: Session) -> str:
        """The session as a cookie value: data, then its signature."""
        data = {"csrf": session.csrf, "at": session.signed_in_at, "token": session.token}
        text = base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
        return f"{text}.{self._sign(text)}"

    def load(self, value: str) -> Session | None:
        """The session a cookie value holds; None when it is not one we signed."""
        text, _, signature = value.partition(".")
        if not hmac.compare_digest(signature, self._sign(text)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            return Session(str(data["csrf"]), data["at"], str(data["token"]))
        except (binascii.Error, ValueError, KeyError, TypeError):
            return None

    def _sign(self, text: str) -> str:
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()


class Sessions:
    """ASGI middleware: every page request under /app/ carries a session, written back as an
    HttpOnly, SameSite=Strict cookie when it is new or changed."""

    def __init__(self, app: ASGIApp, signer: Signer) -> None:
        self.app = app
        self.signer = signer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not _is_page(path):
            await self.app(scope, receive, send)
            return
        found = _cookie(scope, COOKIE)
        session = (self.signer.load(found) if found else None) or Session.new()
        if _header(scope, b"sec-fetch-site") == "cross-site":
            # A link followed from another site: the browser kept the SameSite=Strict cookie
            # back, so a new one must not replace it (that would sign the reader out).
            session.changed = False
        scope[SCOPE_KEY] = session
        secure = scope.get("scheme") == "https"
        root = str(scope.get("root_path", "")).rstrip("/") + PREFIX

        async def with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and session.changed:
                value = self.signer.dump(session)
                flags = f"Path={root}; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")
                header = (b"set-cookie", f"{COOKIE}={value}; {flags}".encode())
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.app(scope, receive, with_cookie)


def _is_page(path: str) -> bool:
    return (path == PREFIX or path.startswith(f"{PREFIX}/")) and not path.startswith(
        f"{PREFIX}/static/"
    )


def _header(scope: Scope, name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == name), None)


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except ValueError:  # http.cookies.CookieError is a ValueError
                return None
            if name in jar:
                return jar[name].value
    return None


def session_of(request: Request) -> Session:
    """The request's session (the middleware gave every page request one)."""
    found = request.scope.get(SCOPE_KEY)
    if not isinstance(found, Session):  # a page outside the middleware: a fresh one
        found = request.scope[SCOPE_KEY] = Session.new()
    return found


def signer_of(request: Request) -> Signer:
    """The app's cookie signer."""
    signer: Signer = request.app.state.webapp_signer
    return signer


def account(request: Request) -> dict[str, Any]:
    """What the pages show of the session: whether sign-in exists here and its state."""
    signer = signer_of(request)
    required = bool(signer.settings.api_token)
    session = session_of(request)
    return {
        "required": required,
        "signed_in": required and session.signed_in(signer.fingerprint()),
        "csrf": session.csrf,
    }


def may_read(request: Request) -> bool:
    """Whether this session may read the pages (the setting, with a token, asks for sign-in)."""
    settings = signer_of(request).settings
    if not (settings.api_token and settings.webapp_require_signin_for_reads):
        return True
    return session_of(request).signed_in(signer_of(request).fingerprint())


async def read_form(request: Request) -> dict[str, str]:
    """A POSTed form (application/x-www-form-urlencoded), each field's first value."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise RefusedError(413, "This form is too large.")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise RefusedError(400, "This form could not be read.") from None
    return {name: values[0] for name, values in fields.items()}


def check_post(request: Request, form: dict[str, str], *, signed_in: bool = True) -> None:
    """Refuse a POST from another site, without this session's CSRF token, or (signed_in,
    when the workspace has an API token) from a session that is not signed in."""
    if not same_origin(request):
        raise RefusedError(403, "This form was sent from another site: refused.")
    if not hmac.compare_digest(form.get("csrf", ""), session_of(request).csrf):
        raise RefusedError(403, "This form has expired or did not come from this page: reload it.")
    signer = signer_of(request)
    fingerprint = signer.fingerprint()
    if signed_in and signer.settings.api_token and not session_of(request).signed_in(fingerprint):
        raise RefusedError(401, "Sign in first: changes need the API token.")


def same_origin(request: Request) -> bool:
    """Whether the browser says the request comes from a page of this server (Origin, else
    Referer); a request that says neither is refused too."""
    said = request.headers.get("origin") or request.headers.get("referer") or ""
    if not said or said == "null":
        return False
    return urlsplit(said).netloc == request.headers.get("host", "")


def check_signin(request: Request, token: str) -> bool:
    """Whether the token given is the API token (compared in constant time)."""
    expected = signer_of(request).settings.api_token
    return bool(expected) and hmac.compare_digest(token.encode(), expected.encode())


def page_root(request: Request) -> str:
    """The pages' root as the browser sees it (behind a proxy's root path too): /app."""
    return str(request.scope.get("root_path", "")).rstrip("/") + PREFIX


def safe_next(target: str, root: str) -> str:
    """Where to go after signing in: a page of this app, never another site."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(f"{root}/"):
        return f"{root}/"
    return target if "\\" not in target else f"{root}/"
