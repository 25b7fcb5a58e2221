"""Typed client for the Zoho Books API v3 (reference: /work/shared/reference/zoho-books.md).

HTTP only: no Dagster, no storage. Every call carries ``organization_id`` (§3, except ``GET
/organizations``) and every reply's ``{code, message}`` is checked, even on HTTP 200 (§12). The API
root is ``{api_domain}/books/v3`` from the token reply (§1): the first call fetches a token before
building its URL, so a client made for one data centre follows wherever Zoho says the data lives.
Requests are paced per organisation (``limits.OrgLimits``: 100/min, concurrency, daily cap); a 429 is
told apart by its code: 44/1070 wait and go on, 45 raises ``DailyLimitReached`` which nothing retries.

Reads are retried on every retryable error; writes only after a 429 (refused, so nothing applied):
a 5xx or a timeout on a write may have applied it, so it surfaces for the caller to look up.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from connectors.common.auth import OAuth2RefreshToken
from connectors.common.errors import (
    AuthError,
    ConnectorError,
    RateLimited,
    RetryableError,
    ServerError,
    TransportError,
    excerpt,
    redact,
)
from connectors.common.http import BaseClient, Params, response_text
from connectors.common.retry import RetryPolicy
from connectors.zoho_books import settings
from connectors.zoho_books.auth import RefreshToken, zoho_auth
from connectors.zoho_books.errors import check_response
from connectors.zoho_books.limits import OrgLimits, shared_limits
from connectors.zoho_books.settings import ZohoBooksSettings
from connectors.zoho_books.wire import encode_json, parse_time

__all__ = ["Exchange", "ZohoBooksClient", "encode_json", "parse_time"]

log = logging.getLogger(__name__)
Body = dict[str, Any]


@dataclass(frozen=True)
class Exchange:
    """One request/response pair for the audit trail: method and path, bodies, never a header or token."""

    operation: str
    request: bytes
    response: bytes | None
    status: int | None
    duration: float
    error: str | None = None
    kind: str = "request"


_AUTH_HINTS = (
    ("invalid_code", "the refresh token was refused (revoked, from another data centre, or the oldest of more than "
                     "20 for this user, which Zoho drops silently); run `ml-connector zoho authorize` again"),
    ("invalid_client", "ZOHO_CLIENT_ID / ZOHO_CLIENT_SECRET are not valid on this data centre's accounts server "
                       "(each data centre has its own secret): check ZOHO_DATA_CENTRE"),
)


class ZohoBooksClient(BaseClient):
    """Zoho Books for one organisation: OAuth refresh, data-centre routing, pacing, ``{code}`` checks."""

    system = settings.SYSTEM

    def __init__(self, *, auth: OAuth2RefreshToken, organization_id: str, data_centre: str = "us",
                 timeout: float = settings.TIMEOUT_SECONDS, transport: httpx.BaseTransport | None = None,
                 limits: OrgLimits | None = None, max_retries: int = settings.MAX_RETRIES,
                 sleep: Callable[[float], None] = time.sleep, rng: Callable[[], float] = random.random,
                 on_exchange: Callable[[Exchange], None] | None = None) -> None:
        if not organization_id:
            raise ValueError("organization_id is required: choose the organisation explicitly (reference §3)")
        self.auth, self.organization_id = auth, str(organization_id)
        self.limits = limits or shared_limits(self.organization_id, data_centre, OrgLimits)
        self.requests_sent = 0
        self.on_exchange = on_exchange
        super().__init__(base_url=settings.api_root(settings.API_DOMAINS.get(data_centre, settings.API_DOMAINS["us"])),
                         auth=auth, timeout=timeout, transport=transport, headers={"Accept": "application/json"},
                         retry=RetryPolicy(max_retries + 1, settings.BACKOFF_BASE_SECONDS,
                                           settings.BACKOFF_MAX_SECONDS),
                         pacer=self.limits, sleep=sleep, rng=rng)

    @classmethod
    def from_settings(cls, config: ZohoBooksSettings, *, refresh_token: RefreshToken | None = None,
                      transport: httpx.BaseTransport | None = None, limits: OrgLimits | None = None,
                      **kwargs: Any) -> ZohoBooksClient:
        """A client from settings; ``refresh_token`` (a value or a callable) replaces an empty setting."""
        token = refresh_token if not config.zoho_refresh_token.get_secret_value() and refresh_token else \
            config.zoho_refresh_token
        auth = zoho_auth(config.zoho_client_id, config.zoho_client_secret, token, data_centre=config.zoho_data_centre,
                         accounts_url=config.zoho_accounts_url, transport=transport)
        limits = limits or shared_limits(config.zoho_organization_id, config.zoho_data_centre, lambda: OrgLimits(
            per_minute=config.zoho_requests_per_minute, daily_limit=config.zoho_daily_limit,
            concurrency=config.zoho_concurrency))
        return cls(auth=auth, organization_id=config.zoho_organization_id, data_centre=config.zoho_data_centre,
                   transport=transport, limits=limits, **kwargs)

    def __repr__(self) -> str:
        return f"ZohoBooksClient(base_url={self.base_url!r}, organization_id={self.organization_id!r})"

    def __enter__(self) -> ZohoBooksClient:
        return self

    # -- transport ------------------------------------------------------------------------------
    def call(self, method: str, path: str, *, params: Params | None = None, json: Any = None,
             headers: Mapping[str, str] | None = None) -> Body:
        """One logical call; reads retry every retryable error, writes only a 429 (§11)."""
        retry_on = RetryableError if method == "GET" else RateLimited
        try:
            return self.retryer(retry_on)(self._exchange, method, path, params, json, headers)
        except AuthError as error:
            hint = next((text for code, text in _AUTH_HINTS if code in error.message), None)
            if hint is None:
                raise
            raise AuthError(f"{error.message}: {hint}", system=self.system, status=error.status,
                            request=error.request) from None

    def _exchange(self, method: str, path: str, params: Params | None, body: Any,
                  headers: Mapping[str, str] | None) -> Body:
        self._rebase()
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if path != settings.ORGANIZATIONS_PATH:
            query["organization_id"] = self.organization_id
        extra = dict(headers or {}) | ({"Content-Type": "application/json"} if body is not None else {})
        content = encode_json(body) if body is not None else None
        request = self._http.build_request(method, path, params=query, content=content, headers=extra)
        self.limits.before_request(request)
        secrets, started = self.auth.redaction_values(), time.monotonic()
        try:
            with self.limits.slots:
                self.requests_sent += 1
                response = self._http.send(request)
        except httpx.TransportError as error:
            kind = "timed out" if isinstance(error, httpx.TimeoutException) else "transport failure"
            failure = TransportError(f"{kind}: {type(error).__name__}: {excerpt(str(error), secrets)}",
                                     system=self.system, request=f"{method} {path}")
            self._audit(method, path, content, None, started, failure)
            raise failure from None
        self.limits.after_response(response)
        try:
            body = check_response(response, secrets=self.auth.redaction_values())
        except ConnectorError as error:
            self._audit(method, path, content, response, started, error)
            raise
        self._audit(method, path, content, response, started, None)
        return body

    def _audit(self, method: str, path: str, content: bytes | None, response: httpx.Response | None,
               started: float, error: Exception | None) -> None:
        if self.on_exchange is None:
            return
        secrets = self.auth.redaction_values()
        reply = None if response is None else redact(response_text(response), secrets).encode()
        self.on_exchange(Exchange(f"{method} {path}", content or b"", reply,
                                  None if response is None else response.status_code, time.monotonic() - started,
                                  None if error is None else f"{type(error).__name__}: {error}"))

    def _rebase(self) -> None:
        """Point the client at ``{api_domain}/books/v3`` once the token reply has named the domain (§1)."""
        if self.auth.api_domain is None:
            self.auth.token()
        if self.auth.api_domain:
            root = settings.api_root(self.auth.api_domain)
            if root != self.base_url:
                self.base_url = root
                self._http.base_url = httpx.URL(root)

    def iter_pages(self, path: str, key: str, params: Params | None = None) -> Iterator[list[Body]]:
        """Every page of a list (``page``/``per_page``, until ``page_context.has_more_page`` is false, §4)."""
        page = 1
        while True:
            reply = self.call("GET", path, params={**(params or {}), "page": page, "per_page": settings.PAGE_SIZE})
            records = reply.get(key)
            if not isinstance(records, list):
                raise ServerError(f"expected a {key!r} list", system=self.system, request=f"GET {path}")
            if records:
                yield records
            if not (reply.get("page_context") or {}).get("has_more_page"):
                return
            page += 1

    def list_all(self, path: str, key: str, params: Params | None = None) -> list[Body]:
        return [record for page in self.iter_pages(path, key, params) for record in page]

    # -- contacts (§5) ----------------------------------------------------------------------------
    def find_contacts_by_email(self, email: str) -> list[Body]:
        """Customers whose primary contact person has this email (exact filter)."""
        return self.list_all(settings.CONTACTS_PATH, "contacts", {"email": email, "contact_type": "customer"})

    def get_contact(self, contact_id: str) -> Body:
        return self.call("GET", f"{settings.CONTACTS_PATH}/{contact_id}")["contact"]

    def create_contact(self, body: Body) -> Body:
        return self.call("POST", settings.CONTACTS_PATH, json=body)["contact"]

    def update_contact(self, contact_id: str, body: Body) -> Body:
        return self.call("PUT", f"{settings.CONTACTS_PATH}/{contact_id}", json=body)["contact"]

    def iter_contacts_modified(self, since: datetime | None) -> Iterator[Body]:
        """Customers newest modification first, down to ``since`` (the polling source of truth)."""
        params = {"contact_type": "customer", "sort_column": "last_modified_time", "sort_order": "D"}
        for page in self.iter_pages(settings.CONTACTS_PATH, "contacts", params):
            for contact in page:
                modified = parse_time(contact.get("last_modified_time"))
                if since is not None and modified is not None and modified < since:
                    return
                yield contact

    # -- items (§6) -------------------------------------------------------------------------------
    def list_items(self) -> list[Body]:
        return self.list_all(settings.ITEMS_PATH, "items")

    def find_items_by_sku(self, sku: str) -> list[Body]:
        return [i for i in self.list_all(settings.ITEMS_PATH, "items", {"sku": sku}) if i.get("sku") == sku]

    def create_item(self, body: Body) -> Body:
        return self.call("POST", settings.ITEMS_PATH, json=body)["item"]

    # -- invoices (§7, §10) -----------------------------------------------------------------------
    def create_invoice(self, body: Body, *, unique: tuple[str, str] | None = None) -> Body:
        """Create an invoice; with ``unique=(custom field API name, value)`` an upsert on that field (§10)."""
        if unique is None:
            return self.call("POST", settings.INVOICES_PATH, json=body)["invoice"]
        headers = {settings.UNIQUE_KEY_HEADER: unique[0], settings.UNIQUE_VALUE_HEADER: unique[1],
                   settings.UPSERT_HEADER: "true"}
        return self.call("PUT", settings.INVOICES_PATH, json=body, headers=headers)["invoice"]

    def update_invoice(self, invoice_id: str, body: Body) -> Body:
        return self.call("PUT", f"{settings.INVOICES_PATH}/{invoice_id}", json=body)["invoice"]

    def get_invoice(self, invoice_id: str) -> Body:
        return self.call("GET", f"{settings.INVOICES_PATH}/{invoice_id}")["invoice"]

    def find_invoices(self, **filters: str) -> list[Body]:
        """Invoices by exact filters, e.g. ``reference_number=...`` (every status, void included)."""
        return self.list_all(settings.INVOICES_PATH, "invoices", {"filter_by": "Status.All", **filters})

    def iter_invoices(self, **filters: str) -> Iterator[list[Body]]:
        return self.iter_pages(settings.INVOICES_PATH, "invoices", {"filter_by": "Status.All", **filters})

    def void_invoice(self, invoice_id: str) -> None:
        self.call("POST", f"{settings.INVOICES_PATH}/{invoice_id}/status/void")

    def mark_invoice_draft(self, invoice_id: str) -> None:
        """Back to draft (a void invoice must be, before it can be edited, §7)."""
        self.call("POST", f"{settings.INVOICES_PATH}/{invoice_id}/status/draft")

    def invoice_payments(self, invoice_id: str) -> list[Body]:
        return list(self.call("GET", f"{settings.INVOICES_PATH}/{invoice_id}/payments").get("payments") or [])

    # -- journals and accounts (§9) ---------------------------------------------------------------
    def create_journal(self, body: Body) -> Body:
        return self.call("POST", settings.JOURNALS_PATH, json=body)["journal"]

    def update_journal(self, journal_id: str, body: Body) -> Body:
        return self.call("PUT", f"{settings.JOURNALS_PATH}/{journal_id}", json=body)["journal"]

    def get_journal(self, journal_id: str) -> Body:
        return self.call("GET", f"{settings.JOURNALS_PATH}/{journal_id}")["journal"]

    def delete_journal(self, journal_id: str) -> None:
        self.call("DELETE", f"{settings.JOURNALS_PATH}/{journal_id}")

    def find_journals(self, **filters: str) -> list[Body]:
        return self.list_all(settings.JOURNALS_PATH, "journals", filters)

    def iter_journals(self, **filters: str) -> Iterator[list[Body]]:
        return self.iter_pages(settings.JOURNALS_PATH, "journals", filters)

    def list_accounts(self) -> list[Body]:
        return self.list_all(settings.ACCOUNTS_PATH, "chartofaccounts", {"filter_by": "AccountType.Active"})

    # -- health -----------------------------------------------------------------------------------
    def ping(self) -> dict[str, Any]:
        """One cheap call (``GET /organizations``): do the credentials work and is our organisation there?"""
        result: dict[str, Any] = {"system": self.system, "organization_id": self.organization_id}
        try:
            orgs = self.call("GET", settings.ORGANIZATIONS_PATH).get("organizations") or []
        except ConnectorError as error:
            return result | {"ok": False, "status": error.status, "error": type(error).__name__, "message": str(error)}
        ours = [o for o in orgs if str(o.get("organization_id")) == self.organization_id]
        if not ours:
            return result | {"ok": False, "base_url": self.base_url,
                             "message": f"organisation {self.organization_id} is not visible to this token"}
        return result | {"ok": True, "base_url": self.base_url, "name": ours[0].get("name"),
                         "currency_code": ours[0].get("currency_code")}
