"""The pages' session cookies and sign-in rules, without a server."""

from __future__ import annotations

import dataclasses
import stat
from pathlib import Path

from riskwatch.config import Settings
from riskwatch.webapp.auth import KEY_FILE, Session, Signer, safe_next, workspace_key


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
