"""The V2 simulator's control plane under `/__sandbox/` (not part of ShipStation; no auth, no limit).

- `GET  /__sandbox/inventory`     → `{"inventory": [levels per SKU and location], "batches": [...],
                                     "warehouses": [...], "locations": [...]}`
- `GET  /__sandbox/transactions`  → `{"transactions": [{seq, received_at, body, status, error_code,
                                     message}]}`: every `POST /v2/inventory` that passed auth and the
                                     rate limit, accepted (204) or refused (400).
- `GET  /__sandbox/stats`         → `{"requests", "by_path", "by_status", "throttled", "faults_pending"}`
                                     (API requests only; `by_path` keys are `"METHOD /template"`).
- `POST /__sandbox/reset-stats`   → zero the counters.
- `POST /__sandbox/allocations`   → `{"sku", "inventory_location_id", "allocated"}`: units held for orders.
- `POST /__sandbox/faults`        → `{"status": 5xx, "count": N, "after_apply": false}`: the next N
                                     authenticated, non-throttled API requests answer `status`; with
                                     `after_apply` the request is carried out first (a lost response).
- `POST /__sandbox/sign`          → `{"body": "<raw text>", "timestamp": "<ISO-8601>"?}` → the three
                                     `x-shipengine-*` headers signing that body (see `signing.py`).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.shipstation_v2.errors import JSONResponse, V2Error, server_fault
from sandbox.shipstation_v2.signing import Signer
from sandbox.shipstation_v2.state import ShipStationV2State
from sandbox.shipstation_v2.transactions import loads


@dataclass(frozen=True)
class Fault:
    status: int
    after_apply: bool = False

    def response(self) -> Response:
        """The injected error answer."""
        return server_fault(self.status).response()


class Controls:
    """Request counters and queued faults shared by the API routes and the control plane."""

    def __init__(self) -> None:
        self._faults: deque[Fault] = deque()
        self.reset()

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

    def queue_faults(self, status: int, count: int, *, after_apply: bool = False) -> None:
        """The next `count` API requests answer `status`."""
        self._faults.extend([Fault(status, after_apply)] * count)

    def take_fault(self) -> Fault | None:
        """The next queued fault, if any."""
        return self._faults.popleft() if self._faults else None

    def snapshot(self) -> dict[str, Any]:
        """The stats document."""
        return {"requests": self.requests, "by_path": dict(self.by_path), "throttled": self.throttled,
                "by_status": {str(k): v for k, v in self.by_status.items()}, "faults_pending": len(self._faults)}


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=400)


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = loads(await request.body())
    except V2Error:
        return None
    return body if isinstance(body, dict) else None


def control_routes(state: ShipStationV2State, controls: Controls, signer: Signer) -> list[Route]:
    """Routes of the control plane."""

    async def inventory(request: Request) -> Response:
        return JSONResponse({"inventory": state.levels(), "batches": [b.as_dict() for b in state.batches],
                             "warehouses": list(state.warehouses.values()),
                             "locations": list(state.locations.values())})

    async def transactions(request: Request) -> Response:
        return JSONResponse({"transactions": state.transactions})

    async def stats(request: Request) -> Response:
        return JSONResponse(controls.snapshot())

    async def reset_stats(request: Request) -> Response:
        controls.reset()
        return JSONResponse(controls.snapshot())

    async def allocations(request: Request) -> Response:
        body = await _json_object(request)
        try:
            sku, location, units = str(body["sku"]), str(body["inventory_location_id"]), int(body["allocated"])  # type: ignore[index]
        except (KeyError, TypeError, ValueError):
            return _bad('expected {"sku", "inventory_location_id", "allocated"}')
        try:
            state.set_allocated(sku, location, units)
        except V2Error as error:
            return error.response()
        return JSONResponse({"inventory": state.levels(skus=[sku])})

    async def faults(request: Request) -> Response:
        body = await _json_object(request) or {}
        try:
            status, count = int(body["status"]), int(body.get("count", 1))
        except (KeyError, TypeError, ValueError):
            return _bad('expected {"status": 5xx, "count": N, "after_apply": false}')
        if not 500 <= status <= 599 or count < 0:
            return _bad("status must be 5xx and count >= 0")
        controls.queue_faults(status, count, after_apply=bool(body.get("after_apply", False)))
        return JSONResponse({"queued": count, "status": status})

    async def sign(request: Request) -> Response:
        body = await _json_object(request)
        if body is None or not isinstance(body.get("body"), str):
            return _bad('expected {"body": "<raw text>", "timestamp": "<ISO-8601>"}')
        stamp = body.get("timestamp")
        if stamp is not None and not isinstance(stamp, str):
            return _bad("timestamp must be a string")
        return JSONResponse(signer.sign(body["body"], stamp))

    return [
        Route("/__sandbox/inventory", inventory, methods=["GET"]),
        Route("/__sandbox/transactions", transactions, methods=["GET"]),
        Route("/__sandbox/stats", stats, methods=["GET"]),
        Route("/__sandbox/reset-stats", reset_stats, methods=["POST"]),
        Route("/__sandbox/allocations", allocations, methods=["POST"]),
        Route("/__sandbox/faults", faults, methods=["POST"]),
        Route("/__sandbox/sign", sign, methods=["POST"]),
    ]
