"""`ml-connector zoho authorize` and `check` against the Zoho Books simulator over HTTP."""

from __future__ import annotations

import argparse
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from ml_connector.checkup import check_zoho
from ml_connector.config import Settings
from ml_connector.zoho_cmd import cmd_authorize
from sandbox.merchant import generate_merchant
from sandbox.merchant_zoho import CLIENT_ID, CLIENT_SECRET, ORGANIZATION_ID, REDIRECT_URI, start_zoho
from state.credentials import CredentialStore


@pytest.fixture()
def zoho(tmp_path, monkeypatch):
    accounts, books, state = start_zoho(generate_merchant(seed=3, n_orders=20), "us", seed=3, per_minute=0)
    monkeypatch.setenv("ML_CONNECTOR_HOME", str(tmp_path))
    monkeypatch.setenv("ML_CONNECTOR_CREDENTIALS_KEY", "uZ0mUedBO8o8Yb3u9fsRZk7XwzSWY5o6Zq8Ew8wRbmE=")
    for name, value in {"ZOHO_DATA_CENTRE": "us", "ZOHO_ACCOUNTS_URL": accounts["us"].base_url,
                        "ZOHO_CLIENT_ID": CLIENT_ID, "ZOHO_CLIENT_SECRET": CLIENT_SECRET,
                        "ZOHO_ORGANIZATION_ID": ORGANIZATION_ID, "ZOHO_REDIRECT_URI": REDIRECT_URI}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ZOHO_REFRESH_TOKEN", raising=False)
    yield accounts["us"], books
    for app in (*accounts.values(), books):
        app.stop()
    state.webhooks.close()


def _consent(accounts_url: str, printed: list[str]) -> str:
    """What the person does in the browser: open the printed URL and come back with the redirect URL."""
    url = next(line.strip() for line in printed if "/oauth/v2/auth" in line)
    query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    answer = httpx.post(f"{accounts_url}/__sandbox/consent", json={
        "client_id": query["client_id"], "scope": query["scope"], "redirect_uri": query["redirect_uri"],
        "access_type": query["access_type"]}, timeout=30)
    answer.raise_for_status()
    body = answer.json()
    return body.get("redirect") or body.get("redirect_url") or body["code"]


def test_authorize_stores_the_refresh_token_and_check_then_sees_the_organisation(zoho):
    accounts, _ = zoho
    printed: list[str] = []
    code = cmd_authorize(argparse.Namespace(code=None), read=lambda prompt: _consent(accounts.base_url, printed),
                         out=printed.append)
    assert code == 0, printed
    assert any("ONCE" in line and "TWO MINUTES" in line for line in printed)
    assert CredentialStore.open().get("ZOHO_REFRESH_TOKEN")
    assert not any(CredentialStore.open().get("ZOHO_REFRESH_TOKEN") in line for line in printed)  # never shown
    name, ok, message = check_zoho(Settings.from_env())  # the token comes from the store
    assert (name, ok) == ("Zoho Books", True) and "answered" in message


def test_a_code_used_twice_is_refused_and_nothing_is_stored(zoho, capsys):
    accounts, _ = zoho
    printed: list[str] = []
    cmd_authorize(argparse.Namespace(code="placeholder"), out=printed.append)  # only to get the consent URL printed
    code = _consent(accounts.base_url, printed)
    assert cmd_authorize(argparse.Namespace(code=code), out=printed.append) == 0
    CredentialStore.open().remove("ZOHO_REFRESH_TOKEN")
    assert cmd_authorize(argparse.Namespace(code=code), out=printed.append) == 1  # single use
    assert "refused" in capsys.readouterr().err
    assert CredentialStore.open().get("ZOHO_REFRESH_TOKEN") is None
