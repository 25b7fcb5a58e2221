"""A test double of Acumatica's contract-based REST API (reference: shared/reference/acumatica.md), for
httpx.MockTransport, until the sandbox simulator lands. It imports nothing of ours.

Follows the reference: versioned entity URLs (an unknown version 404s, `GET /entity` lists the endpoints),
cookie login with a per-user concurrent-session limit (`max_sessions`, an extra login is refused),
401 without a session, value objects both ways, `$filter` (eq/ne/gt/ge/lt/le joined by `and`),
`$expand` (nested entities only when named), `$top`/`$skip`, PUT upserts by key (a Shipment PUT without
`ShipmentNbr` creates), `If-None-Match: *` (412 on an existing record), DELETE, the actions
ConfirmShipment/CorrectShipment answering 202 + Location (polled: 202 once, then 204, applied then),
and 429s on demand.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

VERSION = "23.200.001"
KEYS = {"SalesOrder": ("OrderType", "OrderNbr"), "Shipment": ("ShipmentNbr",), "Customer": ("CustomerID",),
        "StockItem": ("InventoryID",)}
MODIFIED = {"SalesOrder": "LastModified", "Shipment": "LastModifiedDateTime", "Customer": "LastModifiedDateTime",
            "StockItem": "LastModified"}
NESTED = {"Details", "Shipments", "Payments", "Packages", "Orders", "ShipToAddress", "ShipToContact",
          "BillToAddress", "BillToContact", "Totals"}
PLAIN = {"id", "rowNumber", "note", "custom", "_links", "files", "delete"}


def wrap(value: Any) -> Any:
    if isinstance(value, list):
        return [wrap(v) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in PLAIN else wrap(v) if isinstance(v, dict | list) else {"value": v})
                for k, v in value.items()}
    return value


def unwrap(value: Any) -> Any:
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if isinstance(value, dict):
        if set(value) <= {"value"} and value:
            return value["value"]
        return {k: (v if k in PLAIN else unwrap(v)) for k, v in value.items()}
    return value


def _json(status: int, body: Any = None, headers: dict | None = None) -> httpx.Response:
    content = b"" if body is None else json.dumps(body, default=str).encode()
    return httpx.Response(status, content=content, headers={"Content-Type": "application/json", **(headers or {})})


def _no_entity() -> httpx.Response:
    """A key naming no record: 500, as the Acumatica simulator and integrators' observations have it."""
    return _json(500, {"message": "An error has occurred.", "exceptionMessage": "No entity satisfies the condition.",
                       "exceptionType": "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException"})


def _error(status: int, message: str) -> httpx.Response:
    return _json(status, {"message": "An error has occurred.", "exceptionMessage": message,
                          "exceptionType": "PX.Data.PXException"})


@dataclass
class FakeAcumatica:
    versions: tuple[str, ...] = ("20.200.001", VERSION, "24.200.001")
    users: dict[str, str] = field(default_factory=lambda: {"admin": "secret"})
    max_sessions: int = 2
    records: dict[str, dict[tuple, dict]] = field(default_factory=lambda: {k: {} for k in KEYS})
    sessions: dict[str, str] = field(default_factory=dict)  # token -> user
    logins: int = 0
    logouts: int = 0
    requests: int = 0
    fail_429: int = 0
    fail_put_500: int = 0
    actions: dict[str, dict] = field(default_factory=dict)
    clock: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    _numbers: Any = field(default_factory=lambda: itertools.count(1))

    # -- seeding and reading (the test's view) --------------------------------------------------
    def now(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def add(self, entity: str, record: dict) -> dict:
        record = {"id": str(uuid.uuid4()), **record, MODIFIED[entity]: self.now().isoformat()}
        self.records[entity][tuple(record[k] for k in KEYS[entity])] = record
        return record

    def touch(self, entity: str, key: tuple, **changes: Any) -> dict:
        record = self.records[entity][key]
        record.update(changes, **{MODIFIED[entity]: self.now().isoformat()})
        return record

    def shipments(self) -> list[dict]:
        return list(self.records["Shipment"].values())

    # -- HTTP -----------------------------------------------------------------------------------
    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        path = request.url.path
        if path == "/entity/auth/login":
            return self._login(json.loads(request.content))
        if path == "/entity/auth/logout":
            token = self._token(request)
            if token in self.sessions:
                del self.sessions[token]
                self.logouts += 1
            return _json(204)
        if path == "/entity":
            return _json(200, {"version": {"acumaticaBuildVersion": "23.209.0011"},
                               "endpoints": [{"name": "Default", "version": v, "href": f"/entity/Default/{v}/"}
                                             for v in self.versions]})
        if self._token(request) not in self.sessions:
            return _json(401, {"message": "You are not logged in."})
        if self.fail_429:
            self.fail_429 -= 1
            return _json(429, {"message": "API request limit exceeded"})
        match = re.fullmatch(r"/entity/Default/([^/]+)/(\w+)(?:/(.*))?", path)
        if not match or match.group(1) not in self.versions or match.group(2) not in KEYS:
            return _json(404, {"message": "No HTTP resource was found that matches the request URI."})
        entity, rest = match.group(2), [p for p in (match.group(3) or "").split("/") if p]
        return self._entity(request, entity, rest)

    def _token(self, request: httpx.Request) -> str | None:
        cookie = request.headers.get("Cookie", "")
        found = re.search(r"\.ASPXAUTH=([^;]+)", cookie)
        return found.group(1) if found else None

    def _login(self, body: dict) -> httpx.Response:
        if self.users.get(body.get("name")) != body.get("password") or "company" in body and "tenant" in body:
            return _error(401, "Invalid credentials. Please try again.")
        if sum(1 for u in self.sessions.values() if u == body["name"]) >= self.max_sessions:
            return _error(500, "API Login Limit")
        token = uuid.uuid4().hex
        self.sessions[token] = body["name"]
        self.logins += 1
        return httpx.Response(204, headers=[("Set-Cookie", f".ASPXAUTH={token}; path=/; HttpOnly")])

    def _entity(self, request: httpx.Request, entity: str, rest: list[str]) -> httpx.Response:
        method, params = request.method, request.url.params
        expand = set(filter(None, (params.get("$expand") or "").split(",")))
        if method == "GET" and len(rest) >= 3 and rest[-2] == "status":
            return self._poll(rest[-1])
        if method == "GET" and rest:
            record = self.records[entity].get(tuple(rest))
            return _json(200, self._view(record, expand)) if record else _no_entity()
        if method == "GET":
            rows = [r for r in self.records[entity].values() if _matches(r, params.get("$filter"))]
            skip, top = int(params.get("$skip", 0)), int(params.get("$top", len(rows) or 1))
            return _json(200, [self._view(r, expand) for r in rows[skip:skip + top]])
        if method == "PUT":
            return self._put(request, entity, unwrap(json.loads(request.content)), expand)
        if method == "DELETE":
            record = self.records[entity].get(tuple(rest))
            if record is None:
                return _no_entity()
            if record.get("Status") not in (None, "Open", "On Hold"):
                return _error(422, f"{entity} {rest} is {record.get('Status')} and cannot be deleted")
            del self.records[entity][tuple(rest)]
            return _json(204)
        if method == "POST" and len(rest) == 1:
            token = str(uuid.uuid4())
            self.actions[token] = {"entity": entity, "action": rest[0], "body": unwrap(json.loads(request.content)),
                                   "polls": 0}
            return _json(202, headers={"Location": f"{request.url.path}/status/{token}"})
        return _json(405, {"message": "method not allowed"})

    def _view(self, record: dict, expand: set[str]) -> dict:
        return wrap({k: v for k, v in record.items() if k not in NESTED or k in expand})

    def _put(self, request: httpx.Request, entity: str, body: dict, expand: set[str]) -> httpx.Response:
        if self.fail_put_500:
            self.fail_put_500 -= 1
            return _error(500, "Deadlock")
        if entity == "Shipment" and not body.get("ShipmentNbr"):
            body = {**body, "ShipmentNbr": f"{next(self._numbers):06d}", "Status": "Open"}
        key = tuple(body.get(k) for k in KEYS[entity])
        existing = self.records[entity].get(key)
        if existing is not None and request.headers.get("If-None-Match") == "*":
            return _error(412, "The record already exists")
        if entity == "Shipment":
            problem = self._check_shipment(body)
            if problem:
                return _json(422, {**wrap(body), "error": problem})
        record = existing or {"id": str(uuid.uuid4())}
        for name, value in body.items():
            if isinstance(value, list):
                record[name] = [*record.get(name, []), *value]
            else:
                record[name] = value
        record[MODIFIED[entity]] = self.now().isoformat()
        self.records[entity][key] = record
        return _json(200, self._view(record, expand))

    def _check_shipment(self, body: dict) -> str | None:
        for line in body.get("Details", []):
            order = self.records["SalesOrder"].get((line.get("OrderType"), line.get("OrderNbr")))
            lines = {d["LineNbr"] for d in (order or {}).get("Details", [])}
            if order is None or line.get("OrderLineNbr") not in lines:
                return f"Order line {line.get('OrderNbr')}/{line.get('OrderLineNbr')} does not exist"
        return None

    def _poll(self, token: str) -> httpx.Response:
        action = self.actions.get(token)
        if action is None:
            return _error(404, "unknown operation")
        action["polls"] += 1
        if action["polls"] < 2:
            return _json(202)
        if not action.get("done"):
            action["done"] = True
            self._apply(action)
        return _json(204)

    def _apply(self, action: dict) -> None:
        keys = action["body"]["entity"]
        shipment = self.records["Shipment"][(keys["ShipmentNbr"],)]
        shipment["Status"] = "Confirmed" if action["action"] == "ConfirmShipment" else "Open"
        shipment["LastModifiedDateTime"] = self.now().isoformat()
        for line in shipment.get("Details", []):
            order = self.records["SalesOrder"][(line["OrderType"], line["OrderNbr"])]
            sign = 1 if action["action"] == "ConfirmShipment" else -1
            for detail in order.get("Details", []):
                if detail["LineNbr"] == line["OrderLineNbr"]:
                    detail["QtyOnShipments"] = detail.get("QtyOnShipments", 0) + sign * line["ShippedQty"]
            done = all(d.get("QtyOnShipments", 0) >= d["OrderQty"] for d in order.get("Details", []))
            order["Status"] = "Completed" if done else "Back Order" if sign > 0 else "Open"
            order["LastModified"] = self.now().isoformat()


_CLAUSE = re.compile(r"^\(?\s*(\w+)\s+(eq|ne|gt|ge|lt|le)\s+(.+?)\s*\)?$")


def _matches(record: dict, text: str | None) -> bool:
    if not text:
        return True
    for clause in re.split(r"\s+and\s+", text):
        found = _CLAUSE.match(clause.strip())
        if not found:
            raise ValueError(f"filter not understood: {clause}")
        name, op, literal = found.groups()
        left, right = _literal(record.get(name), literal)
        if left is None:
            return False
        ok = {"eq": left == right, "ne": left != right, "gt": left > right, "ge": left >= right,
              "lt": left < right, "le": left <= right}[op]
        if not ok:
            return False
    return True


def _literal(value: Any, literal: str) -> tuple[Any, Any]:
    if literal.startswith("datetimeoffset'"):
        right = datetime.fromisoformat(literal[15:-1].replace("Z", "+00:00"))
        return (datetime.fromisoformat(value) if value else None), right
    if literal.startswith("'"):
        return value, literal[1:-1].replace("''", "'")
    if literal in ("true", "false"):
        return value, literal == "true"
    return value, Decimal(literal)


def transport(fake: FakeAcumatica) -> httpx.MockTransport:
    return httpx.MockTransport(fake)


def asgi_app(fake: FakeAcumatica):
    """The double as an ASGI app (for `sandbox.runner.serve`): requests go to `fake` unchanged."""
    from starlette.requests import Request
    from starlette.responses import Response

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        outgoing = httpx.Request(request.method, str(request.url), headers=request.headers.raw, content=body)
        answer = fake(outgoing)
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in ("content-length", "set-cookie")}
        response = Response(answer.content, status_code=answer.status_code, headers=headers)
        for cookie in answer.headers.get_list("set-cookie"):
            response.raw_headers.append((b"set-cookie", cookie.encode()))
        await response(scope, receive, send)

    return app


# -- the double itself behaves as the reference says -----------------------------------------------
def test_the_fake_refuses_a_call_without_session_and_a_login_past_the_limit():
    fake = FakeAcumatica(max_sessions=1)
    with httpx.Client(transport=transport(fake), base_url="https://erp.test") as http:
        assert http.get(f"/entity/Default/{VERSION}/SalesOrder").status_code == 401
        assert http.post("/entity/auth/login", json={"name": "admin", "password": "secret"}).status_code == 204
    with httpx.Client(transport=transport(fake), base_url="https://erp.test") as other:
        assert other.post("/entity/auth/login", json={"name": "admin", "password": "secret"}).status_code == 500
