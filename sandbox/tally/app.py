"""The Starlette app: Tally's single endpoint `/`, served strictly one request at a time, plus the control plane."""

from __future__ import annotations

import asyncio

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .control import ControlPlane, Runtime
from .dispatch import Reply, answer, running
from .state import TallyState

MAX_BODY = 64 * 1024 * 1024


def create_app(state: TallyState, *, import_delay: float = 0.0) -> Starlette:
    """A TallyPrime double over `state`; `import_delay` seconds pass between commit and reply."""
    runtime = Runtime(import_delay)
    # Tally is one GUI process: a second request waits until the first is answered (reference §1).
    lock = asyncio.Lock()

    async def tally(request: Request) -> Response:
        if request.method == "GET":
            state.stats["ping"] += 1
            return _response(running())
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response(status_code=413)
        async with lock:
            state.stats["requests"] += 1
            reply = answer(state, body, request.headers.get("content-type", ""))
            if reply.imported and runtime.import_delay > 0:
                # Committed but not yet answered: a client that gives up now must not retry blindly.
                await asyncio.sleep(runtime.import_delay)
        return _response(reply)

    routes = [Route("/", tally, methods=["GET", "POST"]), *ControlPlane(state, runtime).routes()]
    return Starlette(routes=routes)


def _response(reply: Reply) -> Response:
    return Response(reply.body, media_type=reply.media_type)
