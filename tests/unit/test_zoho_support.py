"""A stand-in for the Zoho Books API, following /work/shared/reference/zoho-books.md, until the
simulator in `sandbox/zoho_books/` lands (no tests here: the fixtures other Zoho tests share).

One `FakeZoho` answers both the accounts servers (§2: refresh and code grants, one per data
centre, a token from another data centre refused) and the API (§4-§12: organization_id required,
`{code, message}` bodies, per-minute and daily caps with codes 44 and 45). It is served either as an
httpx `MockTransport` (unit tests) or over loopback HTTP as an ASGI app (flow tests, one data
centre: `api_domain` is its own URL).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx

ORG = "10234695"
CLIENT_ID = "1000.CLIENT"
CLIENT_SECRET = "client-secret-value"
REFRESH = "1000.refresh-token-value"
HOSTS = {"us": "zoho.com", "eu": "zoho.eu", "in": "zoho.in", "au": "zoho.com.au", "jp": "zoho.jp",
         "ca": "zohocloud.ca", "cn": "zoho.com.cn", "sa": "zoho.sa"}
API_HOSTS = {"us": "www.zohoapis.com", "eu": "www.zohoapis.eu", "in": "www.zohoapis.in",
             "au": "www.zohoapis.com.au", "jp": "www.zohoapis.jp", "ca": "www.zohoapis.ca",
             "cn": "www.zohoapis.com.cn", "sa": "www.zohoapis.sa"}


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0))


@dataclass
class FakeZoho:
    data_centre: str = "us"
    self_url: str | None = None  # served over HTTP: api_domain and accounts are this URL
    per_minute: int = 0  # 0: no per-minute limit
    daily_cap: int = 0  # 0: none
    now: float = 0.0  # seconds; tests move it
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (dc, expires)
    token_grants: int = 0
    calls: list[tuple[str, str]] = field(default_factory=list)
    minute_calls: list[float] = field(default_factory=list)
    day_calls: int = 0
    contacts: dict[str, dict] = field(default_factory=dict)
    items: dict[str, dict] = field(default_factory=dict)
    invoices: dict[str, dict] = field(default_factory=dict)
    journals: dict[str, dict] = field(default_factory=dict)
    seq: int = 460000000000000
    modified: int = 0

    # -- control -------------------------------------------------------------------------------
    def next_day(self) -> None:
        self.day_calls, self.minute_calls = 0, []
        self.now += 86400

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def pay(self, invoice_id: str) -> None:
        self.invoices[invoice_id]["status"] = "paid"
        self.invoices[invoice_id]["balance"] = "0"

    def live_invoices(self) -> list[dict]:
        return [i for i in self.invoices.values() if i["status"] != "void"]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def api_domain(self, dc: str) -> str:
        return self.self_url or f"https://{API_HOSTS[dc]}"

    def _id(self) -> str:
        self.seq += 1
        return str(self.seq)

    # -- dispatch --------------------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        status, body = self.answer(request.method, request.url.host, request.url.path,
                                   dict(request.url.params), request.headers, request.content)
        return httpx.Response(status, content=json.dumps(body, default=str).encode(),
                              headers={"Content-Type": "application/json"})

    def answer(self, method: str, host: str, path: str, query: dict, headers: Any, content: bytes):
        self.calls.append((method, path))
        if path.endswith("/oauth/v2/token"):
            return self._token(host, dict(parse_qsl(content.decode())))
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Zoho-oauthtoken ")
        dc = self._host_dc(host)
        held = self.tokens.get(token)
        if not auth.startswith("Zoho-oauthtoken ") or held is None or held[1] <= self.now or held[0] != dc:
            return 401, {"code": 57, "message": "You are not authorized to perform this operation"}
        if not path.startswith("/books/v3"):
            return 404, {"code": 5, "message": "Invalid URL Passed"}
        path = path.removeprefix("/books/v3")
        if path != "/organizations" and query.get("organization_id") != ORG:
            return 400, {"code": 2, "message": "Invalid value passed for organization_id"}
        limited = self._limits()
        if limited:
            return limited
        body = json.loads(content, parse_float=Decimal) if content else {}
        return self._route(method, path, query, headers, body)

    def _host_dc(self, host: str) -> str:
        if self.self_url:
            return self.data_centre
        return next((dc for dc, h in API_HOSTS.items() if h == host), "?")

    def _token(self, host: str, form: dict):
        dc = self.data_centre if self.self_url else next(
            (dc for dc, h in HOSTS.items() if host == f"accounts.{h}"), None)
        if dc is None or form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 200, {"error": "invalid_client"}
        if form.get("grant_type") == "refresh_token" and form.get("refresh_token") == REFRESH \
                and dc == self.data_centre:  # a refresh token lives in one data centre only
            self.token_grants += 1
            token = f"1000.access.{self.token_grants}.{dc}"
            self.tokens[token] = (dc, self.now + 3600)
            return 200, {"access_token": token, "api_domain": self.api_domain(dc), "token_type": "Bearer",
                         "expires_in": 3600}
        return 200, {"error": "invalid_code"}

    def _limits(self):
        if self.daily_cap and self.day_calls >= self.daily_cap:
            return 429, {"code": 45, "message": f"The API call for this organization has exceeded the maximum "
                                                f"call rate limit of {self.daily_cap}"}
        self.minute_calls = [t for t in self.minute_calls if t > self.now - 60]
        if self.per_minute and len(self.minute_calls) >= self.per_minute:
            return 429, {"code": 44, "message": "The organization has been blocked as it exceeded the maximum "
                                                "number of requests per minute"}
        self.day_calls += 1
        self.minute_calls.append(self.now)
        return None

    def _route(self, method: str, path: str, query: dict, headers: Any, body: dict):
        parts = path.strip("/").split("/")
        resource, rest = parts[0], parts[1:]
        if resource == "organizations":
            return 200, {"code": 0, "message": "success", "organizations": [
                {"organization_id": ORG, "name": "Fake Books", "currency_code": "USD", "is_default_org": True}]}
        handler = getattr(self, f"_{resource}", None)
        if handler is None:
            return 404, {"code": 5, "message": "Invalid URL Passed"}
        return handler(method, rest, query, headers, body)

    def _list(self, key: str, rows: list[dict], query: dict):
        page, per = int(query.get("page", 1)), min(int(query.get("per_page", 200)), 200)
        chunk = rows[(page - 1) * per: page * per]
        return 200, {"code": 0, "message": "success", key: chunk,
                     "page_context": {"page": page, "per_page": per, "has_more_page": page * per < len(rows)}}

    # -- resources ---------------------------------------------------------------------------------
    def _contacts(self, method, rest, query, headers, body):
        if method == "GET" and not rest:
            rows = [c for c in self.contacts.values()
                    if ("email" not in query or c.get("email", "").lower() == query["email"].lower())]
            if query.get("sort_column") == "last_modified_time":
                rows.sort(key=lambda c: c["last_modified_time"], reverse=query.get("sort_order") == "D")
            return self._list("contacts", rows, query)
        if method == "POST" and not rest:
            if not body.get("contact_name"):
                return 400, {"code": 4, "message": "Contact name is required"}
            if any(c["contact_name"] == body["contact_name"] for c in self.contacts.values()):
                return 400, {"code": 3062, "message": "The contact name already exists"}
            cid = self._id()
            primary = next((p for p in body.get("contact_persons", []) if p.get("is_primary_contact")), {})
            self.contacts[cid] = {**body, "contact_id": cid, "email": primary.get("email", ""),
                                  "last_modified_time": self._stamp()}
            return 201, {"code": 0, "message": "The contact has been added.", "contact": self.contacts[cid]}
        if rest and rest[0] in self.contacts:
            if method == "GET":
                return 200, {"code": 0, "message": "success", "contact": self.contacts[rest[0]]}
            if method == "PUT":
                self.contacts[rest[0]].update(body, last_modified_time=self._stamp())
                return 200, {"code": 0, "message": "Contact has been updated", "contact": self.contacts[rest[0]]}
        return 404, {"code": 1002, "message": "Contact does not exist."}

    def _stamp(self) -> str:
        self.modified += 1
        return (datetime(2026, 2, 1, tzinfo=UTC) + timedelta(seconds=self.now + self.modified)).strftime(
            "%Y-%m-%dT%H:%M:%S%z")

    def _items(self, method, rest, query, headers, body):
        if method == "GET" and not rest:
            rows = [i for i in self.items.values() if "sku" not in query or i.get("sku") == query["sku"]]
            return self._list("items", rows, query)
        if method == "POST" and not rest:
            if not body.get("name") or "rate" not in body:
                return 400, {"code": 4, "message": "name and rate are required"}
            if body.get("sku") and any(i.get("sku") == body["sku"] for i in self.items.values()):
                return 400, {"code": 1001, "message": "SKU already exists"}
            iid = self._id()
            self.items[iid] = {**body, "item_id": iid, "status": "active"}
            return 201, {"code": 0, "message": "The item has been added.", "item": self.items[iid]}
        return 404, {"code": 1002, "message": "Item does not exist."}

    def _check_invoice(self, body: dict):
        if body.get("customer_id") not in self.contacts:
            return 400, {"code": 4, "message": "Invalid value passed for customer_id"}
        if not body.get("line_items"):
            return 400, {"code": 4, "message": "line_items is required"}
        for line in body["line_items"]:
            if line.get("item_id") and line["item_id"] not in self.items:
                return 400, {"code": 1002, "message": "Item does not exist."}
        return None

    def _total(self, body: dict) -> Decimal:
        lines = sum(_money(line.get("rate")) * _money(line.get("quantity")) for line in body["line_items"])
        extra = _money(body.get("shipping_charge")) + _money(body.get("adjustment"))
        return lines - _money(body.get("discount")) + extra

    def _invoices(self, method, rest, query, headers, body):
        if method == "GET" and not rest:
            rows = [i for i in self.invoices.values()
                    if all(str(i.get(k)) == v for k, v in query.items()
                           if k in ("reference_number", "customer_id", "invoice_number"))]
            return self._list("invoices", rows, query)
        if method in ("POST", "PUT") and not rest:
            key = headers.get("x-unique-identifier-key")
            if method == "PUT":
                value = headers.get("x-unique-identifier-value")
                found = [i for i in self.invoices.values()
                         if any(c.get("api_name") == key and c.get("value") == value for c in i["custom_fields"])]
                if found:
                    return self._update_invoice(found[0]["invoice_id"], body)
                if headers.get("x-upsert") != "true":
                    return 404, {"code": 1002, "message": "Invoice does not exist."}
            bad = self._check_invoice(body)
            if bad:
                return bad
            iid = self._id()
            self.invoices[iid] = {**body, "invoice_id": iid, "invoice_number": f"INV-{len(self.invoices) + 1:06d}",
                                  "status": "sent", "total": str(self._total(body)), "balance": str(self._total(body)),
                                  "custom_fields": [dict(c, api_name=c.get("api_name", key)) for c in
                                                    body.get("custom_fields", [])]}
            return 201, {"code": 0, "message": "The invoice has been created.", "invoice": self.invoices[iid]}
        if not rest or rest[0] not in self.invoices:
            return 404, {"code": 1002, "message": "Invoice does not exist."}
        iid = rest[0]
        if method == "GET" and len(rest) == 1:
            return 200, {"code": 0, "message": "success", "invoice": self.invoices[iid]}
        if method == "PUT" and len(rest) == 1:
            return self._update_invoice(iid, body)
        if method == "POST" and rest[1:] == ["status", "draft"]:
            self.invoices[iid]["status"] = "draft"
            return 200, {"code": 0, "message": "Status of invoice changed from void to draft"}
        if method == "POST" and rest[1:] == ["status", "void"]:
            if self.invoices[iid]["status"] == "paid":
                return 400, {"code": 1037, "message": "Invoices with payments cannot be voided."}
            self.invoices[iid]["status"] = "void"
            return 200, {"code": 0, "message": "Invoice status has been changed to 'Void'."}
        return 405, {"code": 37, "message": "Method not allowed"}

    def _update_invoice(self, iid: str, body: dict):
        if self.invoices[iid]["status"] == "void":
            return 400, {"code": 1036, "message": "Voided invoices cannot be edited."}
        merged = {**self.invoices[iid], **body}
        bad = self._check_invoice(merged)
        if bad:
            return bad
        merged["total"] = str(self._total(merged))
        self.invoices[iid] = merged
        return 200, {"code": 0, "message": "Invoice information has been updated.", "invoice": merged}

    @staticmethod
    def _side(body: dict, side: str) -> Decimal:
        return sum((_money(x["amount"]) for x in body.get("line_items", []) if x["debit_or_credit"] == side),
                   Decimal(0))

    def _journals(self, method, rest, query, headers, body):
        if method == "GET" and not rest:
            rows = [j for j in self.journals.values()
                    if "reference_number" not in query or j.get("reference_number") == query["reference_number"]]
            return self._list("journals", rows, query)
        if method in ("POST", "PUT"):
            debit = self._side(body, "debit")
            credit = self._side(body, "credit")
            if not body.get("journal_date") or debit != credit or not debit:
                return 400, {"code": 13014, "message": "Debits and credits must be equal"}
        if method == "POST" and not rest:
            jid = self._id()
            self.journals[jid] = {**body, "journal_id": jid, "total": str(self._side(body, "debit"))}
            return 201, {"code": 0, "message": "The journal entry has been created.", "journal": self.journals[jid]}
        if not rest or rest[0] not in self.journals:
            return 404, {"code": 1002, "message": "Journal does not exist."}
        jid = rest[0]
        if method == "GET":
            return 200, {"code": 0, "message": "success", "journal": self.journals[jid]}
        if method == "PUT":
            self.journals[jid] = {**self.journals[jid], **body}
            return 200, {"code": 0, "message": "Journal updated", "journal": self.journals[jid]}
        if method == "DELETE":
            del self.journals[jid]
            return 200, {"code": 0, "message": "The journal entry has been deleted."}
        return 405, {"code": 37, "message": "Method not allowed"}

    def _chartofaccounts(self, method, rest, query, headers, body):
        return self._list("chartofaccounts", [{"account_id": "acc-ship", "account_name": "Shipping Expense"},
                                              {"account_id": "acc-clear", "account_name": "Shipping Clearing"}],
                          query)


def asgi_app(fake: FakeZoho):
    """The fake as an ASGI app (for loopback HTTP): every request goes to `fake.answer`."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def endpoint(request: Request) -> JSONResponse:
        content = await request.body()
        status, body = fake.answer(request.method, request.url.hostname or "", request.url.path,
                                   dict(request.query_params), request.headers, content)
        return JSONResponse(json.loads(json.dumps(body, default=str)), status_code=status)

    methods = ["GET", "POST", "PUT", "DELETE"]
    return Starlette(routes=[Route("/{path:path}", endpoint, methods=methods)])


def counts_by_reference(fake: FakeZoho) -> defaultdict[str, int]:
    out: defaultdict[str, int] = defaultdict(int)
    for invoice in fake.invoices.values():
        out[invoice.get("reference_number", "")] += 1
    return out

