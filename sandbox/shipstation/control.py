"""The sandbox control plane, under `/__sandbox/` (not part of ShipStation; no auth).

- `GET  /__sandbox/stats`        → `{"requests", "by_path", "by_status", "throttled", "faults_pending"}`
                                    (API requests only; `by_path` keys are route templates such
                                    as `/orders/{orderId}`).
- `POST /__sandbox/reset-stats`  → zero the counters.
- `POST /__sandbox/advance`      → apply the merchant's next batch of later changes
                                    (`ShipStationState.advance()`), modifyDate = now.
- `POST /__sandbox/faults`       → `{"status": 500|503|…(5xx), "count": N}`: the next N
                                    authenticated, non-throttled API requests answer that status.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.shipstation import serialize
from sandbox.shipstation.errors import ApiError
from sandbox.shipstation.payload import loads
from sandbox.shipstation.state import ShipStationState


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


def control_routes(state: ShipStationState, controls: Controls) -> list[Route]:
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

    return [
        Route("/__sandbox/stats", stats, methods=["GET"]),
        Route("/__sandbox/reset-stats", reset_stats, methods=["POST"]),
        Route("/__sandbox/advance", advance, methods=["POST"]),
        Route("/__sandbox/faults", faults, methods=["POST"]),
    ]
