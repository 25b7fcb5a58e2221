"""The control plane under `/__sandbox/` (not part of Walmart; no auth, never rate limited).

- `GET  /__sandbox/stats`               → `{requests, by_endpoint, by_status, throttled, token_requests,
                                          tokens_issued, feeds_submitted, faults_pending}` (by_endpoint keys
                                          are `"METHOD /template"`, e.g. `"GET /v3/orders"`, `"POST /v3/token"`)
- `POST /__sandbox/reset-stats`         → zero the counters
- `GET  /__sandbox/state`               → counts, the clock's now, report dates
- `POST /__sandbox/clock/advance`       → `{"seconds": n}` → `{"now"}`: tokens expire, buckets refill, feeds move on
- `GET|POST /__sandbox/rate-limits`     → `{"enabled": bool, "limits": {bucket: {"capacity", "per_seconds"}}}`
- `POST /__sandbox/faults`              → `{"status": 5xx|429, "count": n, "endpoint"?: "GET /v3/orders"}`
- `POST /__sandbox/tokens/revoke`       → every issued token becomes unknown (401 next call)
- `POST /__sandbox/seed`                → `{"items": [{"sku", "productName"?, "price", "quantity"?, "shipNode"?,
                                          "gtin"?, "productType"?}]}`: list (or re-list) SKUs with stock
- `POST /__sandbox/orders`              → `{"lines": [{"sku", "quantity"?, "price"?}], "shipNode"?, "released"?,
                                          "customer"?}` → `{"purchaseOrderId"}` (a new Created order)
- `POST /__sandbox/orders/{po}/release` → the order becomes visible to the API
- `POST /__sandbox/orders/{po}/cancel-line` → `{"lineNumber", "quantity"?, "reason"?}`: Walmart/customer cancels
- `POST /__sandbox/orders/{po}/ship`    → `{"carrier"?}`: every open unit Shipped (so it settles)
- `POST /__sandbox/returns`             → `{"purchaseOrderId", "lineNumbers": [...], "reason"?}` → `{"returnOrderId"}`
- `POST /__sandbox/returns/{rma}/refund` → refund every line (REFUND_COMPLETED)
- `POST /__sandbox/settlements`         → `{"start", "end" (ISO), "reportDate"?, "adjustments"?: [{"description",
                                          "code", "amount"}]}` → `{"reportDate", "total", "transactions"}`
- `POST /__sandbox/feeds/process`       → finish every pending feed now → `{"finished"}`
- `POST /__sandbox/feeds/fail-skus`     → `{"skus": [...], "type"?: "SYSTEM_ERROR"}`: those items fail in later feeds
- `GET  /__sandbox/inventory`           → `{sku: {shipNode: quantity}}`; `GET /__sandbox/prices` → `{sku: price}`
- `GET  /__sandbox/notifications`       → `{"deliveries": [{eventId, eventType, subscriptionId, attempts, delivered,
                                          outcomes}]}`: what the Notifications API sent (`notifications.py`)
Bad bodies answer 400 `{"message": ...}`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.walmart import builders
from sandbox.walmart.catalog import Item
from sandbox.walmart.control_stats import Controls
from sandbox.walmart.errors import JSONResponse, WalmartError
from sandbox.walmart.limits import Buckets, Limit
from sandbox.walmart.orders import move, status_quantities
from sandbox.walmart.state import WalmartState

Handler = Callable[[Request], Awaitable[Response]]
DEFAULT_BUYER = builders.Buyer("Sandbox Buyer", "1 Sandbox Way", "Edison", "NJ", "08817", "7325550100",
                               Decimal("0.06625"))


class BadControl(Exception):
    """A control request we cannot act on."""


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw, parse_float=Decimal) if raw.strip() else {}
    except ValueError:
        raise BadControl("body is not JSON") from None
    if not isinstance(body, dict):
        raise BadControl("expected a JSON object")
    return body


def _guard(handler: Handler) -> Handler:
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except (BadControl, KeyError, TypeError, ValueError) as exc:
            return JSONResponse({"message": str(exc) or type(exc).__name__}, status_code=400)
        except WalmartError as error:
            return error.response()
    return run


def control_routes(state: WalmartState, controls: Controls, buckets: Buckets) -> list[Route]:
    """Every control-plane route."""

    async def stats(request: Request) -> Response:
        return JSONResponse(controls.snapshot())

    async def reset(request: Request) -> Response:
        controls.reset()
        return JSONResponse(controls.snapshot())

    async def snapshot(request: Request) -> Response:
        return JSONResponse(state.snapshot())

    async def advance(request: Request) -> Response:
        now = state.clock.advance(float((await _body(request))["seconds"]))
        state.settle_feeds()
        return JSONResponse({"now": now.isoformat()})

    async def rate_limits(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request)
            limits = {k: Limit(int(v["capacity"]), float(v["per_seconds"])) for k, v in body.get("limits", {}).items()}
            buckets.configure(enabled=body.get("enabled"), limits=limits)
        return JSONResponse(buckets.snapshot())

    async def faults(request: Request) -> Response:
        body = await _body(request)
        status, count = int(body["status"]), int(body.get("count", 1))
        if not (500 <= status <= 599 or status == 429) or count < 0:
            raise BadControl("status must be 5xx or 429, count >= 0")
        controls.queue(status, count, body.get("endpoint"))
        return JSONResponse({"queued": count, "status": status})

    async def revoke(request: Request) -> Response:
        return JSONResponse({"revoked": state.revoke_tokens()})

    async def notifications(request: Request) -> Response:
        return JSONResponse({"deliveries": state.notifications.snapshot()})

    return [Route(path, _guard(handler), methods=methods) for path, methods, handler in [
        ("/__sandbox/stats", ["GET"], stats), ("/__sandbox/reset-stats", ["POST"], reset),
        ("/__sandbox/state", ["GET"], snapshot), ("/__sandbox/clock/advance", ["POST"], advance),
        ("/__sandbox/rate-limits", ["GET", "POST"], rate_limits), ("/__sandbox/faults", ["POST"], faults),
        ("/__sandbox/tokens/revoke", ["POST"], revoke), ("/__sandbox/notifications", ["GET"], notifications),
    ]] + merchant_routes(state)


def add_order(state: WalmartState, body: dict[str, Any]) -> str:
    """A new order from `{"lines": [{"sku", "quantity"?, "price"?}], "shipNode"?, "released"?}`."""
    specs = []
    for line in body["lines"]:
        item = state.items[line["sku"]]
        price = Decimal(str(line.get("price", item.price)))
        specs.append(builders.LineSpec(item.sku, item.product_name, price, int(line.get("quantity", 1))))
    if not specs:
        raise BadControl("an order needs lines")
    nodes = {n.id: n for n in state.ship_nodes}
    node = nodes[body.get("shipNode") or state.default_node]
    po, customer_order = state.next_id("po"), state.next_id("co")
    doc = builders.order_doc(po, customer_order, state.clock.now(), DEFAULT_BUYER, specs, node.doc(), state.currency)
    state.add_order(doc, released=bool(body.get("released", True)))
    return po


def seed_items(state: WalmartState, rows: list[dict[str, Any]]) -> int:
    """List each row's SKU (replacing one of the same SKU) and set its stock at its node; how many."""
    with state.lock:
        for n, row in enumerate(rows, start=len(state.items) + 1):
            sku = str(row["sku"])
            state.items[sku] = Item(sku, str(row.get("productName", sku)), Decimal(str(row["price"])),
                                    str(row.get("gtin", f"{n:014d}")), f"SBX{n:09d}",
                                    str(row.get("productType", "Grocery")), "[]")
            node = str(row.get("shipNode") or state.default_node)
            state.inventory[(sku, node)] = int(row.get("quantity", 0))
    return len(rows)


def merchant_routes(state: WalmartState) -> list[Route]:
    """Control routes that play the marketplace's and the customers' part."""

    async def seed(request: Request) -> Response:
        return JSONResponse({"items": seed_items(state, (await _body(request))["items"])})

    async def new_order(request: Request) -> Response:
        return JSONResponse({"purchaseOrderId": add_order(state, await _body(request))})

    async def release(request: Request) -> Response:
        return JSONResponse({"purchaseOrderId": state.release(request.path_params["po"]).po})

    async def cancel_line(request: Request) -> Response:
        body = await _body(request)
        with state.lock:
            order = state.orders[request.path_params["po"]]
            line = order.line(str(body["lineNumber"]))
            open_units = sum(status_quantities(line).get(s, 0) for s in ("Created", "Acknowledged"))
            move(line, int(body.get("quantity", open_units)), ("Created", "Acknowledged"), "Cancelled",
                 state.clock.now(), cancellationReason=body.get("reason", "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"))
            order.modified = state.clock.now()
        return JSONResponse({"purchaseOrderId": order.po, "lineNumber": line["lineNumber"]})

    async def ship(request: Request) -> Response:
        body = await _body(request)
        shipped = state.ship_all(request.path_params["po"], body.get("carrier", "UPS"))
        return JSONResponse({"purchaseOrderId": request.path_params["po"], "shippedUnits": shipped})

    async def new_return(request: Request) -> Response:
        body = await _body(request)
        rma = state.create_return(body["purchaseOrderId"], [str(n) for n in body["lineNumbers"]],
                                  body.get("reason", "DAMAGED_ITEM"))
        return JSONResponse({"returnOrderId": rma})

    async def refund(request: Request) -> Response:
        return JSONResponse({"returnOrderId": state.refund_return(request.path_params["rma"]).rma})

    async def settlement(request: Request) -> Response:
        body = await _body(request)
        start, end = (datetime.fromisoformat(body[k].replace("Z", "+00:00")) for k in ("start", "end"))
        if start.tzinfo is None or end.tzinfo is None:
            raise BadControl("start and end need a UTC offset")
        published = state.publish_settlement(start, end, body.get("reportDate"), body.get("adjustments", []))
        return JSONResponse({"reportDate": published.report_date, "total": published.total(),
                             "transactions": len(published.transactions)})

    async def process(request: Request) -> Response:
        return JSONResponse({"finished": state.settle_feeds(finish_all=True)})

    async def fail_skus(request: Request) -> Response:
        body = await _body(request)
        kind = body.get("type", "SYSTEM_ERROR")
        if kind not in ("SYSTEM_ERROR", "TIMEOUT_ERROR", "DATA_ERROR"):
            raise BadControl("type must be SYSTEM_ERROR, TIMEOUT_ERROR or DATA_ERROR")
        state.feeds.fail_skus = {str(sku): kind for sku in body["skus"]}
        return JSONResponse({"failing": state.feeds.fail_skus})

    async def inventory(request: Request) -> Response:
        with state.lock:
            out: dict[str, dict[str, int]] = {}
            for (sku, node), amount in sorted(state.inventory.items()):
                out.setdefault(sku, {})[node] = amount
        return JSONResponse(out)

    async def prices(request: Request) -> Response:
        with state.lock:
            return JSONResponse({sku: item.price for sku, item in sorted(state.items.items())})

    return [Route(path, _guard(handler), methods=["GET" if path.endswith(("inventory", "prices")) else "POST"])
            for path, handler in [
                ("/__sandbox/seed", seed), ("/__sandbox/orders", new_order),
                ("/__sandbox/orders/{po}/release", release),
                ("/__sandbox/orders/{po}/cancel-line", cancel_line), ("/__sandbox/orders/{po}/ship", ship),
                ("/__sandbox/returns", new_return), ("/__sandbox/returns/{rma}/refund", refund),
                ("/__sandbox/settlements", settlement), ("/__sandbox/feeds/process", process),
                ("/__sandbox/feeds/fail-skus", fail_skus), ("/__sandbox/inventory", inventory),
                ("/__sandbox/prices", prices)]]

