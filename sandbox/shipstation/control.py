"""The sandbox control plane, under `/__sandbox/` (not part of ShipStation; no auth).

- `GET  /__sandbox/stats`        → `{"requests", "by_path", "by_status", "throttled", "faults_pending"}`
                                    (API requests only; `by_path` keys are route templates such
                                    as `/orders/{orderId}`).
- `POST /__sandbox/reset-stats`  → zero the counters.
- `POST /__sandbox/advance`      → apply the merchant's next batch of later changes
                                    (`ShipStationState.advance()`), modifyDate = now.
- `POST /__sandbox/faults`       → `{"status": 500|503|…(5xx), "count": N}`: the next N
                                    authenticated, non-throttled API requests answer that status.
- `POST /__sandbox/ship`         → `{"orderId": n, "items": [{"lineItemKey", "quantity"}…] | null,
                                    "carrierCode"?}`: buy one label (null = every goods line in
                                    full) → the Shipment JSON with items; fires SHIP_NOTIFY.
- `POST /__sandbox/import-orders` → `{"count": n, "storeId"?}`: a store import of n new orders
                                    (merchant accounts only) → `{"orderIds", "orderNumbers"}`;
                                    fires one ORDER_NOTIFY.
- `GET  /__sandbox/shipments`    → every label (voided included, items included), oldest first.
- `POST /__sandbox/webhooks/config` → `{"delay_min", "delay_max", "drop_rate", "seed"}` (any subset).
- `GET  /__sandbox/webhooks/log` → every scheduled delivery: `id, webhook_id, resource_type,
                                    resource_url, target, due_at, outcome (pending|delivered|
                                    dropped|failed), status, error, done_at`.
- `POST /__sandbox/webhooks/flush` → make every pending delivery due now (drops still drop), wait
                                    for them, answer the log.
Bad bodies answer 400 `{"message": …}`; API-level refusals keep the API's error shapes.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.shipstation import serialize
from sandbox.shipstation.delivery import Dispatcher
from sandbox.shipstation.errors import ApiError
from sandbox.shipstation.payload import loads
from sandbox.shipstation.state import ShipStationState

Handler = Callable[[Request], Awaitable[Response]]


class JSONResponse(Response):
    """JSON rendered by `serialize.dumps` (Decimal as numbers, UTF-8 unescaped)."""

    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        """Encode the body."""
        return serialize.dumps(content)


# Assumed bodies: ASP.NET's generic 500 (seen in integrators' logs); a front-end 503 as plain text.
FAULT_BODIES: dict[int, tuple[str, str]] = {
    500: ('{"Message":"An error has occurred."}', "application/json; charset=utf-8"),
    503: ("Service Unavailable", "text/plain; charset=utf-8"),
}


class Controls:
    """Request counters and queued faults shared by the API routes and the control plane."""

    def __init__(self) -> None:
        self.reset()
        self._faults: deque[int] = deque()

    def reset(self) -> None:
        """Zero the counters (queued faults stay queued)."""
        self.requests = 0
        self.throttled = 0
        self.by_path: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()

    def record(self, path: str, status: int) -> None:
        """Count one API request and its answer."""
        self.requests += 1
        self.by_path[path] += 1
        self.by_status[status] += 1
        self.throttled += status == 429

    def queue_faults(self, status: int, count: int) -> None:
        """The next `count` API requests answer `status`."""
        self._faults.extend([status] * count)

    def take_fault(self) -> Response | None:
        """The response for the next queued fault, if any."""
        if not self._faults:
            return None
        status = self._faults.popleft()
        body, media_type = FAULT_BODIES.get(status, ("Server Error", "text/plain; charset=utf-8"))
        return Response(body, status_code=status, media_type=media_type)

    def snapshot(self) -> dict[str, Any]:
        """The stats document."""
        return {"requests": self.requests, "by_path": dict(self.by_path), "throttled": self.throttled,
                "by_status": {str(k): v for k, v in self.by_status.items()},
                "faults_pending": len(self._faults)}


def _guarded(handler: Handler) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return JSONResponse(exc.body, status_code=exc.status)

    return endpoint


def _object(raw: bytes) -> dict[str, Any]:
    body = loads(raw)
    if not isinstance(body, dict):
        raise ApiError(400, {"message": "expected a JSON object"})
    return body


def control_routes(state: ShipStationState, controls: Controls, dispatcher: Dispatcher) -> list[Route]:
    """Routes of the control plane."""

    async def stats(request: Request) -> Response:
        return JSONResponse(controls.snapshot())

    async def reset_stats(request: Request) -> Response:
        controls.reset()
        return JSONResponse(controls.snapshot())

    async def advance(request: Request) -> Response:
        return JSONResponse(state.advance())

    async def faults(request: Request) -> Response:
        try:
            body = loads(await request.body())
            status, count = int(body["status"]), int(body.get("count", 1))
        except (ApiError, KeyError, TypeError, ValueError):
            return JSONResponse({"message": 'expected {"status": 5xx, "count": N}'}, status_code=400)
        if not 500 <= status <= 599 or count < 0:
            return JSONResponse({"message": "status must be 5xx and count >= 0"}, status_code=400)
        controls.queue_faults(status, count)
        return JSONResponse({"queued": count, "status": status})

    async def ship(request: Request) -> Response:
        body = _object(await request.body())
        if not isinstance(body.get("orderId"), int):
            return JSONResponse({"message": 'expected {"orderId": n, "items": [...] | null}'}, status_code=400)
        carrier = {"carrier_code": body["carrierCode"]} if body.get("carrierCode") else {}
        label = state.create_label(body["orderId"], body.get("items"), **carrier)
        return JSONResponse(serialize.shipment(label, items=True))

    async def import_orders(request: Request) -> Response:
        body = _object(await request.body())
        count, store = body.get("count"), body.get("storeId")
        if not isinstance(count, int) or not isinstance(store, int | None):
            return JSONResponse({"message": 'expected {"count": n, "storeId"?: id}'}, status_code=400)
        orders = state.import_orders(count, store)
        return JSONResponse({"orderIds": [o["orderId"] for o in orders],
                             "orderNumbers": [o["orderNumber"] for o in orders]})

    async def shipments(request: Request) -> Response:
        rows = sorted(state.shipments.records.values(), key=lambda s: (s["createDate"], s["shipmentId"]))
        return JSONResponse([serialize.shipment(s, items=True) for s in rows])

    table: list[tuple[str, str, Handler]] = [
        ("/__sandbox/stats", "GET", stats),
        ("/__sandbox/reset-stats", "POST", reset_stats),
        ("/__sandbox/advance", "POST", advance),
        ("/__sandbox/faults", "POST", faults),
        ("/__sandbox/ship", "POST", ship),
        ("/__sandbox/import-orders", "POST", import_orders),
        ("/__sandbox/shipments", "GET", shipments),
        *webhook_control_table(dispatcher),
    ]
    return [Route(path, _guarded(handler), methods=[method]) for path, method, handler in table]


def webhook_control_table(dispatcher: Dispatcher) -> list[tuple[str, str, Handler]]:
    """`/__sandbox/webhooks/{config,log,flush}` for any dispatcher (the V2 simulator serves them too)."""

    async def webhook_config(request: Request) -> Response:
        body = _object(await request.body())
        known = ("delay_min", "delay_max", "drop_rate", "seed")
        try:
            return JSONResponse(dispatcher.configure(**{k: body[k] for k in known if k in body}))
        except (TypeError, ValueError) as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)

    async def webhook_log(request: Request) -> Response:
        return JSONResponse(dispatcher.log())

    async def webhook_flush(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(dispatcher.flush))

    return [
        ("/__sandbox/webhooks/config", "POST", webhook_config),
        ("/__sandbox/webhooks/log", "GET", webhook_log),
        ("/__sandbox/webhooks/flush", "POST", webhook_flush),
    ]


def guarded_routes(table: list[tuple[str, str, Handler]]) -> list[Route]:
    """Control-plane routes whose API-level refusals keep the API's error shapes."""
    return [Route(path, _guarded(handler), methods=[method]) for path, method, handler in table]
