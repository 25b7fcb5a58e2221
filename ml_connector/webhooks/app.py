"""The webhook receiver: authenticates deliveries from each registered source and queues them durably, nothing more.

Sources (`sources.py` says how to add one): ShipStation (`shipstation.py`, V1 with our secret, V2
signed) and Zoho Books (`zoho.py`, HMAC-signed contact events). Every delivery goes through, in order:

0. the sender's rate (per address across all sources, `WEBHOOK_RATE_PER_MINUTE`, bursts of
   `WEBHOOK_RATE_BURST`): over it -> 429 with Retry-After, before anything else is looked at, so a
   flood or a secret guesser costs us nothing (a burst of real deliveries is far below the default);
1. POST on the source's path and the source's `admits` (ShipStation: the secret); anything else
   -> 404, the same answer as any unknown path, so a scanner learns nothing about what is live;
2. the body size (413), refused before it is read when Content-Length says so;
3. the source's `accept`: signature first (401), then the payload (400);
4. the store: the event is committed and only then answered `200 {"stored": id}` (store down:
   503, so the sender retries). Replay protection: the event's `delivery_key` is a hash of what was
   delivered, so a redelivery or a captured request sent again is stored once; it is answered
   `200 {"stored": <first id>, "duplicate": true}` so the sender stops retrying.

Logs carry event id, type, source, the resource URL's host (or path when it has none) and the
sender's address: never a secret, the path holding one, a header or a body.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connectors.tally.agent_guard import ClientLimiter
from ml_connector.webhooks.shipstation import (  # noqa: F401  (this module's names before sources existed)
    MIN_SECRET_LENGTH,
    V2_EVENTS,
    WEBHOOK_PATH,
    ShipStationSource,
    masked_path,
    target_url,
    webhook_path,
)
from ml_connector.webhooks.signature import JwksCache
from ml_connector.webhooks.sources import Refused, WebhookSource, delivery_key  # noqa: F401
from state.webhook_queue import WebhookEvent, WebhookStore

logger = logging.getLogger("ml_connector.webhooks")

MAX_BODY_BYTES = 64 * 1024
RATE_PER_MINUTE = 3000.0
RATE_BURST = 1000.0
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]  # not 405: see step 1


class _Receiver:
    def __init__(self, store: WebhookStore, clock: Callable[[], float], max_body: int,
                 limiter: ClientLimiter) -> None:
        self.store = store
        self.clock = clock
        self.max_body = max_body
        self.limiter = limiter

    def endpoint(self, source: WebhookSource) -> Callable[[Request], Awaitable[Response]]:
        async def deliver(request: Request) -> Response:
            return await self.deliver(source, request)

        return deliver

    async def deliver(self, source: WebhookSource, request: Request) -> Response:
        """POST a source's path: rate, authenticate, validate, store, answer (see the module docstring)."""
        remote = request.client.host if request.client else ""
        if wait := self.limiter.admit(remote):
            logger.warning("webhook refused from %s: rate limited", remote)
            return JSONResponse({"error": "rate_limited"}, status_code=429,
                                headers={"Retry-After": str(math.ceil(wait))})
        if request.method != "POST" or not source.admits(request):
            logger.warning("webhook refused from %s: not admitted by %s (wrong or missing secret, or not POST)",
                           remote, source.name)
            return PlainTextResponse("Not Found", status_code=404)
        try:
            event = await source.accept(request, await self._read_bounded(request), remote, self.clock())
            event_id, new = await run_in_threadpool(self.store.add_once, event)
        except Refused as refusal:
            logger.warning("webhook refused from %s: %s %s (%d)", remote, source.name, refusal.code, refusal.status)
            return JSONResponse({"error": refusal.code}, status_code=refusal.status)
        except Exception as exc:  # the store is down: the sender should retry
            logger.error("webhook from %s not stored: %s", remote, type(exc).__name__)
            return JSONResponse({"error": "store_unavailable"}, status_code=503)
        if not new:
            logger.info("webhook %d delivered again by %s: not stored twice", event_id, remote)
            return JSONResponse({"stored": event_id, "duplicate": True})
        logger.info("webhook %d stored: %s (%s) for %s, sent by %s", event_id, event.resource_type, event.source,
                    _loggable(event), remote)
        return JSONResponse({"stored": event_id})

    async def health(self, request: Request) -> Response:
        """GET /health: whether the queue answers, and how many events wait to be drained."""
        try:
            queued = await run_in_threadpool(self.store.count, undrained_only=True)
        except Exception as exc:
            logger.error("health: store unavailable: %s", type(exc).__name__)
            return JSONResponse({"ok": False}, status_code=503)
        return JSONResponse({"ok": True, "queued": queued})

    async def _read_bounded(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            raise Refused(413, "too_large")  # refused before reading any of it
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise Refused(413, "too_large")
            chunks.append(chunk)
        return b"".join(chunks)


def _loggable(event: WebhookEvent) -> str:
    parts = urlsplit(event.resource_url)
    return parts.hostname or parts.path  # a host, or an id path such as contacts/46000...; never a query


def receiver_app(*, store: WebhookStore, sources: Sequence[WebhookSource], clock: Callable[[], float] = time.time,
                 max_body: int = MAX_BODY_BYTES, rate_per_minute: float = RATE_PER_MINUTE,
                 rate_burst: float = RATE_BURST) -> Starlette:
    """The receiver for `sources` (at least one; no two on one path) plus `GET /health`."""
    if not sources:
        raise ValueError("no webhook source is configured: set WEBHOOK_SECRET and/or ZOHO_WEBHOOK_SECRET")
    paths = [path for source in sources for path in source.paths]
    if len(set(paths)) != len(paths):
        raise ValueError(f"two webhook sources share a path: {sorted(paths)}")
    receiver = _Receiver(store, clock, max_body, ClientLimiter(rate_per_minute, 60.0, burst=rate_burst))
    routes = [Route(path, receiver.endpoint(source), methods=_ANY_METHOD)
              for source in sources for path in source.paths]
    return Starlette(routes=[*routes, Route("/health", receiver.health, methods=["GET"])])


def create_receiver_app(
    *,
    store: WebhookStore,
    secret: str | None,
    secret_header: str | None,
    shipstation_base_url: str,
    jwks: JwksCache | None,
    clock: Callable[[], float] = time.time,
    max_body: int = MAX_BODY_BYTES,
    v2_base_urls: Sequence[str] = (),
    rate_per_minute: float = RATE_PER_MINUTE,
    rate_burst: float = RATE_BURST,
    sources: Sequence[WebhookSource] = (),
) -> Starlette:
    """The receiver with ShipStation (when `secret` is given, or no other source is) and `sources`.

    Refuses a short secret (the queue would be open to anyone). `v2_base_urls`: extra origins a
    *signed* (V2) delivery's resource_url may point at.
    """
    shipstation = [ShipStationSource(secret or "", secret_header, shipstation_base_url, v2_base_urls, jwks)
                   ] if secret or not sources else []
    return receiver_app(store=store, sources=[*shipstation, *sources], clock=clock, max_body=max_body,
                        rate_per_minute=rate_per_minute, rate_burst=rate_burst)
