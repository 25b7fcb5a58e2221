"""Contract: a Zoho Books client written by someone else against the real API works against the simulator.

`PublicBooksClient` is written only from Zoho's public documentation and the way public clients
call it (pyZohoAPI, pyzohobook, the w6w Books app): token parameters in the query string as the
docs' curl examples show, `api_domain` from the token response, `Zoho-oauthtoken` header,
`organization_id` on every call, `{code, message}` checked on every answer, `page_context` paging,
one refresh on a 401. It uses none of our code; the simulator is served over real HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest

from sandbox.merchant import generate_merchant
from sandbox.merchant_zoho import CLIENT_ID, ORGANIZATION_ID, REDIRECT_URI, client_secret, start_zoho
from sandbox.runner import ServedApp
from sandbox.zoho_books import ZohoState

SCOPE = "ZohoBooks.contacts.ALL,ZohoBooks.settings.ALL,ZohoBooks.invoices.ALL,ZohoBooks.customerpayments.ALL," \
        "ZohoBooks.accountants.ALL"


class ZohoApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"HTTP {status} code {code}: {message}")
        self.status, self.code = status, code


class PublicBooksClient:
    """A minimal Zoho Books v3 client as the public docs describe it."""

    def __init__(self, accounts_server: str, client_id: str, client_secret: str, organization_id: str) -> None:
        self.accounts, self.client_id, self.client_secret = accounts_server, client_id, client_secret
        self.organization_id = organization_id
        self.access_token = self.refresh_token = self.api_domain = ""
        self.refreshes = 0

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        return f"{self.accounts}/oauth/v2/auth?" + urlencode({
            "scope": SCOPE, "client_id": self.client_id, "response_type": "code", "redirect_uri": redirect_uri,
            "access_type": "offline", "prompt": "consent", "state": state})

    def generate_tokens(self, code: str, redirect_uri: str) -> None:
        # https://www.zoho.com/books/api/v3/oauth/: POST .../oauth/v2/token?code=&client_id=&...
        body = self._token({"code": code, "client_id": self.client_id, "client_secret": self.client_secret,
                            "redirect_uri": redirect_uri, "grant_type": "authorization_code"})
        self.refresh_token = body["refresh_token"]

    def refresh(self) -> None:
        self.refreshes += 1
        self._token({"refresh_token": self.refresh_token, "client_id": self.client_id,
                     "client_secret": self.client_secret, "grant_type": "refresh_token"})

    def _token(self, params: dict[str, str]) -> dict[str, Any]:
        body = httpx.post(f"{self.accounts}/oauth/v2/token", params=params).json()
        if "error" in body:
            raise RuntimeError(f"token request failed: {body['error']}")
        self.access_token, self.api_domain = body["access_token"], body["api_domain"]
        return body

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
             headers: dict[str, str] | None = None, retried: bool = False) -> dict[str, Any]:
        answer = httpx.request(method, f"{self.api_domain}/books/v3/{path}", json=json,
                               params={"organization_id": self.organization_id, **(params or {})},
                               headers={"Authorization": f"Zoho-oauthtoken {self.access_token}", **(headers or {})})
        body = answer.json()
        if answer.status_code == 401 and not retried:
            self.refresh()
            return self.call(method, path, params=params, json=json, headers=headers, retried=True)
        if body.get("code") != 0:
            raise ZohoApiError(answer.status_code, body.get("code", -1), body.get("message", ""))
        return body

    def list_all(self, path: str, key: str, **filters: Any) -> list[dict[str, Any]]:
        rows, page, size = [], 1, filters.pop("per_page", 200)
        while True:
            body = self.call("GET", path, params={**filters, "page": page, "per_page": size})
            rows += body[key]
            if not body["page_context"]["has_more_page"]:
                return rows
            page += 1


@pytest.fixture(scope="module")
def zoho() -> Iterator[tuple[dict[str, ServedApp], ServedApp, ZohoState]]:
    accounts, books, state = start_zoho(generate_merchant(seed=11, n_orders=30), "eu")
    yield accounts, books, state
    for served in [*accounts.values(), books]:
        served.stop()
    state.webhooks.close()


@pytest.fixture
def client(zoho: tuple[dict[str, ServedApp], ServedApp, ZohoState]) -> PublicBooksClient:
    accounts, _books, _state = zoho
    client = PublicBooksClient(accounts["eu"].base_url, CLIENT_ID, client_secret("eu"), ORGANIZATION_ID)
    redirect = httpx.get(client.authorization_url(REDIRECT_URI, "s1"))
    assert redirect.status_code == 302
    code = parse_qs(urlparse(redirect.headers["location"]).query)["code"][0]
    client.generate_tokens(code, REDIRECT_URI)
    return client


def test_onboarding_routes_to_the_data_centres_api(client: PublicBooksClient, zoho: Any) -> None:
    _accounts, books, _state = zoho
    assert client.api_domain == books.base_url
    orgs = httpx.get(f"{client.api_domain}/books/v3/organizations",
                     headers={"Authorization": f"Zoho-oauthtoken {client.access_token}"}).json()["organizations"]
    assert ORGANIZATION_ID in [o["organization_id"] for o in orgs]


def test_order_to_paid_invoice_as_documented(client: PublicBooksClient) -> None:
    email = "contract.buyer@example.in"
    assert client.call("GET", "contacts", params={"email": email})["contacts"] == []
    contact = client.call("POST", "contacts", json={
        "contact_name": "Contract Buyer", "contact_type": "customer",
        "contact_persons": [{"first_name": "Contract", "last_name": "Buyer", "email": email,
                             "is_primary_contact": True}]})["contact"]
    item = client.call("POST", "items", json={"name": "Contract Tea", "rate": 120.5, "sku": "CONTRACT-TEA"})["item"]
    assert client.call("GET", "items", params={"sku": "CONTRACT-TEA"})["items"][0]["item_id"] == item["item_id"]
    invoice = client.call("POST", "invoices", params={"ignore_auto_number_generation": "true"}, json={
        "customer_id": contact["contact_id"], "invoice_number": "SS-C-1", "reference_number": "C-1",
        "line_items": [{"item_id": item["item_id"], "rate": 120.5, "quantity": 2}],
        "shipping_charge": "9.00"})["invoice"]
    assert invoice["total"] == 250.0
    found = client.call("GET", "invoices", params={"reference_number": "C-1"})["invoices"]
    assert [i["invoice_id"] for i in found] == [invoice["invoice_id"]]
    edited = client.call("PUT", f"invoices/{invoice['invoice_id']}", json={
        "line_items": [{"line_item_id": invoice["line_items"][0]["line_item_id"], "item_id": item["item_id"],
                        "rate": 120.5, "quantity": 3}]})["invoice"]
    assert edited["total"] == 370.5 and edited["invoice_id"] == invoice["invoice_id"]
    client.call("POST", f"invoices/{invoice['invoice_id']}/status/sent")
    client.call("POST", "customerpayments", json={
        "customer_id": contact["contact_id"], "payment_mode": "banktransfer", "amount": 370.5, "date": "2026-04-03",
        "invoices": [{"invoice_id": invoice["invoice_id"], "amount_applied": 370.5}]})
    assert client.call("GET", f"invoices/{invoice['invoice_id']}")["invoice"]["status"] == "paid"


def test_void_upsert_and_journal_as_documented(client: PublicBooksClient) -> None:
    contact = client.call("POST", "contacts", json={"contact_name": "Void Buyer"})["contact"]
    lines = [{"name": "Ad hoc", "rate": 10, "quantity": 1}]
    upsert = {"X-Unique-Identifier-Key": "cf_shipstation_order", "X-Unique-Identifier-Value": "SS-9",
              "X-Upsert": "true"}
    made = client.call("PUT", "invoices", json={"customer_id": contact["contact_id"], "line_items": lines},
                       headers=upsert)["invoice"]
    same = client.call("PUT", "invoices", json={"customer_id": contact["contact_id"], "line_items": lines,
                                                "notes": "changed"}, headers=upsert)["invoice"]
    assert same["invoice_id"] == made["invoice_id"] and same["notes"] == "changed"
    assert client.call("POST", f"invoices/{made['invoice_id']}/status/void")["message"] == \
        "Invoice status has been changed to Void."
    accounts = {a["account_name"]: a["account_id"] for a in client.list_all("chartofaccounts", "chartofaccounts")}
    journal = client.call("POST", "journals", json={
        "journal_date": "2026-04-03", "reference_number": "LABEL-1", "notes": "postage",
        "line_items": [{"account_id": accounts["Postage"], "debit_or_credit": "debit", "amount": 87.0},
                       {"account_id": accounts["ShipStation Clearing"], "debit_or_credit": "credit", "amount": 87.0}]})
    assert journal["journal"]["total"] == 87.0
    with pytest.raises(ZohoApiError) as unbalanced:
        client.call("POST", "journals", json={"journal_date": "2026-04-03", "line_items": [
            {"account_id": accounts["Postage"], "debit_or_credit": "debit", "amount": 1}]})
    assert unbalanced.value.status == 400


def test_paging_refresh_on_401_and_rate_limit_codes(client: PublicBooksClient, zoho: Any) -> None:
    _accounts, books, state = zoho
    contacts = client.list_all("contacts", "contacts", per_page=3)
    assert len(contacts) == len({c["contact_id"] for c in contacts}) >= 10
    httpx.post(f"{books.base_url}/__sandbox/clock/advance", json={"seconds": 3600})
    before = client.refreshes
    assert client.call("GET", "contacts", params={"per_page": 1})["code"] == 0
    assert client.refreshes == before + 1
    httpx.post(f"{books.base_url}/__sandbox/limits", json={"per_minute": 2})
    try:
        with pytest.raises(ZohoApiError) as throttled:
            for _ in range(3):
                client.call("GET", "contacts", params={"per_page": 1})
        assert (throttled.value.status, throttled.value.code) == (429, 44)
    finally:
        httpx.post(f"{books.base_url}/__sandbox/limits", json={"per_minute": 100})
        httpx.post(f"{books.base_url}/__sandbox/clock/advance", json={"seconds": 60})


def test_older_clients_posting_jsonstring_forms(client: PublicBooksClient) -> None:
    answer = httpx.post(f"{client.api_domain}/api/v3/contacts", params={"organization_id": ORGANIZATION_ID},
                        headers={"Authorization": f"Zoho-oauthtoken {client.access_token}"},
                        data={"JSONString": '{"contact_name": "Legacy Form Client"}'})
    assert answer.status_code == 201 and answer.json()["contact"]["contact_name"] == "Legacy Form Client"
