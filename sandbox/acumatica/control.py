"""The simulator's control plane under `<site>/__sandbox/` (not part of Acumatica; no sign-in, no limits).

Records here are in stored form as JSON: plain values (no `{"value": …}` wrappers), money and
quantities as numbers, datetimes as ISO-8601 strings, details as arrays.

- `POST /__sandbox/seed`             `{"customers"|"stock_items"|"sales_orders"|"shipments": [records]}`
                                      → `{"seeded": {entity: count}}`
- `GET  /__sandbox/records/{Entity}` → `{"records": [...]}` (Entity = SalesOrder, Shipment, Customer, StockItem)
- `POST /__sandbox/orders/{type}/{nbr}` `{"status"?, "payments"?: [rows], "fields"?: {…}, "lines"?: [{LineNbr, …}]}`:
                                      change status or payment, or edit the order late (stamps LastModified)
- `POST /__sandbox/clock`            `{"advance_seconds": N}` → `{"now": iso}`
- `POST /__sandbox/licence`          any of the `Licence` fields → the licence now in force
- `POST /__sandbox/faults`           `{"status": 5xx, "count": N}`: the next N limited API requests fail
- `GET  /__sandbox/sessions`         → `{"sessions": [{user, tenant, branch, via, opened, last_seen}]}`
- `POST /__sandbox/sessions/drop`    `{"user"?: name}` → `{"dropped": n}` (as if they had timed out)
- `GET  /__sandbox/stats`            → sessions open now / opened in total, logins, logouts, failures,
                                      refusals, requests by path and status, throttle and operation counts
- `POST /__sandbox/reset-stats`      → zero the request counters
"""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.acumatica.errors import JSONResponse
from sandbox.acumatica.graphs import GRAPHS, Record
from sandbox.acumatica.schema import contracts, kind, target
from sandbox.acumatica.state import AcumaticaState, Fault, Stats
from sandbox.acumatica.values import from_wire

if TYPE_CHECKING:
    from sandbox.acumatica.app import Api

SEED_ORDER = (("customers", "Customer"), ("stock_items", "StockItem"), ("sales_orders", "SalesOrder"),
              ("shipments", "Shipment"))


def stored(state: AcumaticaState, definition: str, plain: Any) -> Record:
    """A control-plane JSON record in stored form (values typed by the newest contract)."""
    fields = contracts()[state.versions[-1]].fields(definition)
    out: Record = {}
    for name, raw in (plain or {}).items():
        token = fields.get(name)
        if name in ("id", "note", "delete") or token is None:
            if name in ("id", "note", "delete"):
                out[name] = raw
            continue
        shape = kind(token)
        if shape == "value":
            out[name] = from_wire(token, raw, state.tz)
        elif shape == "linked":
            out[name] = stored(state, token, raw)
        else:
            out[name] = [stored(state, target(token), row) for row in raw or []]
    return out


def plain(record: Any) -> Any:
    """Stored form → JSON-ready (internal `_` keys dropped)."""
    if isinstance(record, dict):
        return {k: plain(v) for k, v in record.items() if not k.startswith("_")}
    if isinstance(record, list):
        return [plain(v) for v in record]
    if hasattr(record, "isoformat"):
        return record.isoformat()
    return record


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    body = json.loads(raw or b"{}", parse_float=Decimal)
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body


def stats(state: AcumaticaState, api: Api) -> dict[str, Any]:
    sessions = state.sessions
    sessions.reap()
    return {"sessions_open": len(sessions.sessions), **asdict(sessions.counters), **state.stats.snapshot(),
            "throttle": {"delayed": api.gate.delayed, "declined": api.gate.declined, "waiting": api.gate.waiting},
            "operations_completed": api.operations.completed, "now": state.now().isoformat()}


def control_routes(state: AcumaticaState, api: Api) -> list[Route]:
    site = state.site

    async def seed(request: Request) -> Response:
        body = await _body(request)
        counts = {}
        for name, entity in SEED_ORDER:
            rows = [stored(state, entity, row) for row in body.get(name) or []]
            counts[entity] = len(state.seed(entity, rows))
        return JSONResponse({"seeded": counts})

    async def records(request: Request) -> Response:
        entity = request.path_params["entity"]
        if entity not in GRAPHS:
            return JSONResponse({"error": f"unknown entity {entity!r}"}, status_code=404)
        return JSONResponse({"records": plain(list(state.all(entity)))})

    async def order(request: Request) -> Response:
        found = state.find("SalesOrder", (request.path_params["type"], request.path_params["nbr"]))
        if found is None:
            return JSONResponse({"error": "no such order"}, status_code=404)
        body = await _body(request)
        changes = stored(state, "SalesOrder", body.get("fields") or {})
        if body.get("status"):
            changes["Status"] = body["status"]
            changes["Hold"] = body["status"] == "On Hold"
        if body.get("payments") is not None:
            changes["Payments"] = [stored(state, "SalesOrderPayment", row) for row in body["payments"]]
        if body.get("lines"):
            rows = {row.get("LineNbr"): row["id"] for row in found.get("Details") or []}
            changes["Details"] = [stored(state, "SalesOrderDetail", line) | (
                {"id": rows[line["LineNbr"]]} if line.get("LineNbr") in rows else {}) for line in body["lines"]]
        replace = ("Payments",) if body.get("payments") is not None else ()
        return JSONResponse({"record": plain(state.set_fields("SalesOrder", found, changes, replace))})

    async def clock(request: Request) -> Response:
        body = await _body(request)
        return JSONResponse({"now": state.advance(float(body.get("advance_seconds", 0))).isoformat()})

    async def licence(request: Request) -> Response:
        try:
            state.licence.update(await _body(request))
        except KeyError as error:
            return JSONResponse({"error": f"unknown licence field {error}"}, status_code=400)
        return JSONResponse(asdict(state.licence))

    async def faults(request: Request) -> Response:
        body = await _body(request)
        status, count = int(body.get("status", 500)), int(body.get("count", 1))
        if not 500 <= status <= 599 or count < 1:
            return JSONResponse({"error": "status must be 5xx and count >= 1"}, status_code=400)
        state.faults.append(Fault(status, count))
        return JSONResponse({"queued": count, "status": status})

    async def sessions(request: Request) -> Response:
        state.sessions.reap()
        rows = [{"user": s.user, "tenant": s.tenant, "branch": s.branch, "via": s.via, "opened": s.opened.isoformat(),
                 "last_seen": s.last_seen.isoformat()} for s in state.sessions.sessions.values()]
        return JSONResponse({"sessions": rows})

    async def drop(request: Request) -> Response:
        body = await _body(request)
        return JSONResponse({"dropped": state.sessions.drop(body.get("user"))})

    async def get_stats(request: Request) -> Response:
        return JSONResponse(stats(state, api))

    async def reset_stats(request: Request) -> Response:
        state.stats = Stats()
        return JSONResponse(stats(state, api))

    table = [("/seed", "POST", seed), ("/records/{entity}", "GET", records), ("/orders/{type}/{nbr}", "POST", order),
             ("/clock", "POST", clock), ("/licence", "POST", licence), ("/faults", "POST", faults),
             ("/sessions", "GET", sessions), ("/sessions/drop", "POST", drop), ("/stats", "GET", get_stats),
             ("/reset-stats", "POST", reset_stats)]
    return [Route(f"{site}/__sandbox{path}", handler, methods=[method]) for path, method, handler in table]
