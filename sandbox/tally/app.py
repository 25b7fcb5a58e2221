"""The Starlette app: Tally's single endpoint `/`, served strictly one request at a time, plus the control plane."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .control import ControlPlane, Runtime
from .cost import CostModel
from .dispatch import Reply, answer, running
from .faults import FaultReply, TallyFaults, cut_response, fault_routes
from .state import TallyState

MAX_BODY = 64 * 1024 * 1024


def create_app(state: TallyState, *, import_delay: float = 0.0, cost: CostModel | None = None) -> Starlette:
    """A TallyPrime double over `state`; `import_delay` seconds pass between commit and reply.

    `cost` (default off; also ``POST /__sandbox/cost``) makes exports and imports take the time
    real Tally would spend walking vouchers and importing objects (``cost.py``).
    """
    runtime = Runtime(import_delay, cost or CostModel())
    # Tally is one GUI process: a second request waits until the first is answered (reference §1).
    lock = asyncio.Lock()
    faults = TallyFaults()  # POST /__sandbox/faults (faults.py)

    async def tally(request: Request) -> Response:
        if request.method == "GET":
            state.stats["ping"] += 1
            return _response(running())
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response(status_code=413)
        async with lock:
            state.stats["requests"] += 1
            content_type = request.headers.get("content-type", "")
            faulty = faults.intercept(state, body, content_type, lambda b, ct: answer(state, b, ct, runtime.cost))
            if faulty is not None:
                return _fault_response(faulty)
            reply = answer(state, body, content_type, runtime.cost)
            if reply.cost > 0:
                # Tally does the walk in its one GUI thread: the whole process is busy, pings and the
                # control plane included (reference §1: heavy exports make Tally look frozen).
                state.stats["cost_ms"] += round(reply.cost * 1000)
                time.sleep(reply.cost)
            if reply.imported and runtime.import_delay > 0:
                # Committed but not yet answered: a client that gives up now must not retry blindly.
                await asyncio.sleep(runtime.import_delay)
        return _response(reply)

    routes = [Route("/", tally, methods=["GET", "POST"]), *ControlPlane(state, runtime).routes(),
              *fault_routes(faults)]
    return Starlette(routes=routes)


def _fault_response(reply: FaultReply) -> Any:
    if reply.cut is None:
        return Response(reply.body, media_type=reply.media_type)
    return cut_response(reply)


def _response(reply: Reply) -> Response:
    return Response(reply.body, media_type=reply.media_type)
