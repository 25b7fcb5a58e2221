"""The webhook receiver: authenticates ShipStation deliveries and queues them durably, nothing more.

`POST /shipstation/webhook/<secret>` (or `/shipstation/webhook` with the secret in the header named by
WEBHOOK_SECRET_HEADER). Checks, in order:

0. the sender's rate (per address, `WEBHOOK_RATE_PER_MINUTE`, bursts of `WEBHOOK_RATE_BURST`):
   over it -> 429 with Retry-After, before anything else is looked at, so a flood or a secret
   guesser costs us nothing (a burst of real deliveries is far below the default);
1. POST and the secret (constant-time); another method or a wrong or missing secret -> 404, the
   same answer as any unknown path, so a scanner learns nothing about which form or path is live.
   V1 deliveries carry no signature (reference §4), so the secret is required on every delivery,
   signed or not;
2. the body size (413);
3. V2 signature headers (§5.4): if any is present all must be (400), the timestamp within five
   minutes (400), the signature valid for the JWKS key with that kid (401; an unknown kid refreshes
   the JWKS once first; JWKS unreachable -> 503). Verified before the body is parsed: unverified
   bytes are never interpreted;
4. the payload: a JSON object with string `resource_url` and a known `resource_type` (400);
5. `resource_url` must point at our ShipStation (`resource_url_allowed`, 400). The receiver never
   fetches anything; the sensor follows the URL later through the ShipStation client.

Then the event is committed to the store and only then answered `200 {"stored": id}` (store down:
503, so ShipStation retries). Replay protection: the event's `delivery_key` is a hash of what was
delivered (source, type, URL, body), so a redelivery or a captured request sent again is stored
once; it is answered `200 {"stored": <first id>, "duplicate": true}` so the sender stops retrying.
Logs carry event id, type and the resource URL's host: never the secret, the path holding it, or a body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from connectors.shipstation.webhooks import V1_EVENTS, resource_url_allowed
from connectors.tally.agent_guard import ClientLimiter
from ml_connector.webhooks.signature import JwksCache, SignatureError, signed_headers
from state.webhook_queue import WebhookEvent, WebhookStore

logger = logging.getLogger("ml_connector.webhooks")

WEBHOOK_PATH = "/shipstation/webhook"
MAX_BODY_BYTES = 64 * 1024
MIN_SECRET_LENGTH = 16
RATE_PER_MINUTE = 3000.0
RATE_BURST = 1000.0
# V2 event names (reference §5.4: UI ids and the older lower-case spec names; exact enum unverified).
V2_EVENTS = frozenset({
    "BATCH_PROCESSED_V2", "TRACK_EVENT_V2", "SHIPMENT_CREATED_V2", "LABEL_CREATED_V2", "FULFILLMENT_SHIPPED_V2",
    "FULFILLMENT_REJECTED_V2", "BATCH", "CARRIER_CONNECTED", "ORDER_SOURCE_REFRESH_COMPLETE", "RATE",
    "REPORT_COMPLETE", "SALES_ORDERS_IMPORTED", "TRACK",
})
_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_PATH_SAFE_SECRET = re.compile(r"^[A-Za-z0-9._~-]+$")


class Refused(Exception):
    """A delivery we answer with `status` and a short machine-readable `code`."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


def webhook_path(secret: str, secret_header: str | None) -> str:
    """The path ShipStation must POST to: the secret is its last segment unless it travels in a header."""
    return WEBHOOK_PATH if secret_header else f"{WEBHOOK_PATH}/{secret}"


def target_url(public_url: str, secret: str, secret_header: str | None) -> str:
    """The URL to subscribe: WEBHOOK_PUBLIC_URL (with or without the webhook path) plus the path."""
    base = public_url.rstrip("/")
    if base.endswith(WEBHOOK_PATH):
        base = base[: -len(WEBHOOK_PATH)]
    return base + webhook_path(secret, secret_header)


def masked_path(secret_header: str | None) -> str:
    """The path shape for humans: the secret replaced by `****`."""
    return f"{WEBHOOK_PATH} (secret in header {secret_header})" if secret_header else f"{WEBHOOK_PATH}/****"


class _Receiver:
    def __init__(self, store: WebhookStore, secret: str, secret_header: str | None, base_url: str,
                 v2_base_urls: Sequence[str], jwks: JwksCache | None, clock: Callable[[], float],
                 max_body: int, limiter: ClientLimiter) -> None:
        self.store = store
        self._secret = secret.encode()
        self.secret_header = secret_header
        self.base_url = base_url
        self.v2_base_urls = tuple(v2_base_urls)
        self.jwks = jwks
        self.clock = clock
        self.max_body = max_body
        self.limiter = limiter

    async def deliver(self, request: Request) -> Response:
        """POST the webhook path: authenticate, validate, store, answer."""
        remote = request.client.host if request.client else ""
        if wait := self.limiter.admit(remote):
            logger.warning("webhook refused from %s: rate limited", remote)
            return JSONResponse({"error": "rate_limited"}, status_code=429,
                                headers={"Retry-After": str(math.ceil(wait))})
        if request.method != "POST" or not self._secret_ok(request):
            logger.warning("webhook refused from %s: wrong or missing secret", remote)
            return PlainTextResponse("Not Found", status_code=404)
        try:
            event = await self._accept(request, remote)
            event_id, new = await run_in_threadpool(self.store.add_once, event)
        except Refused as refusal:
            logger.warning("webhook refused from %s: %s (%d)", remote, refusal.code, refusal.status)
            return JSONResponse({"error": refusal.code}, status_code=refusal.status)
        except Exception as exc:  # the store is down: ShipStation should retry
            logger.error("webhook from %s not stored: %s", remote, type(exc).__name__)
            return JSONResponse({"error": "store_unavailable"}, status_code=503)
        if not new:
            logger.info("webhook %d delivered again by %s: not stored twice", event_id, remote)
            return JSONResponse({"stored": event_id, "duplicate": True})
        logger.info("webhook %d stored: %s (%s) for %s, sent by %s", event_id, event.resource_type, event.source,
                    urlsplit(event.resource_url).hostname, remote)
        return JSONResponse({"stored": event_id})

    async def health(self, request: Request) -> Response:
        """GET /health: whether the queue answers, and how many events wait to be drained."""
        try:
            queued = await run_in_threadpool(self.store.count, undrained_only=True)
        except Exception as exc:
            logger.error("health: store unavailable: %s", type(exc).__name__)
            return JSONResponse({"ok": False}, status_code=503)
        return JSONResponse({"ok": True, "queued": queued})

    def _secret_ok(self, request: Request) -> bool:
        if self.secret_header:
            presented = request.headers.get(self.secret_header, "")
        else:
            presented = request.path_params.get("token", "")
        return hmac.compare_digest(presented.encode(), self._secret)

    async def _accept(self, request: Request, remote: str) -> WebhookEvent:
        body = await self._read_bounded(request)
        signed = await self._verify(request, body)
        resource_type, resource_url = _payload(body, signed)
        allowed = [self.base_url, *(self.v2_base_urls if signed else ())]
        if not any(resource_url_allowed(resource_url, base) for base in allowed):
            raise Refused(400, "resource_url_not_allowed")
        source = "v2" if signed else "v1"
        return WebhookEvent(received_at=self.clock(), resource_type=resource_type, resource_url=resource_url,
                            source=source, body=body.decode("utf-8"), remote=remote,
                            delivery_key=delivery_key(source, resource_type, resource_url, body))

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

    async def _verify(self, request: Request, body: bytes) -> bool:
        """True for a delivery with a valid V2 signature, False for one with no signature headers."""
        try:
            if signed_headers(request.headers) is None:
                return False
            if self.jwks is None:
                raise Refused(401, "signature_unverifiable")  # no JWKS configured: cannot trust it
            await run_in_threadpool(self.jwks.verify, request.headers, body, self.clock())
        except SignatureError as exc:
            raise Refused(exc.status, _snake(type(exc).__name__)) from exc
        return True


def _payload(body: bytes, signed: bool) -> tuple[str, str]:
    try:
        data: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused(400, "invalid_json") from exc
    if not isinstance(data, dict):
        raise Refused(400, "not_an_object")
    resource_type, resource_url = data.get("resource_type"), data.get("resource_url")
    if not isinstance(resource_type, str) or not isinstance(resource_url, str):
        raise Refused(400, "missing_resource")
    known = resource_type in V1_EVENTS or (signed and resource_type.upper() in V2_EVENTS | set(V1_EVENTS))
    if not known:
        raise Refused(400, "unknown_resource_type")
    return resource_type, resource_url


def delivery_key(source: str, resource_type: str, resource_url: str, body: bytes) -> str:
    """What makes two deliveries the same one: a hash of everything that was delivered."""
    digest = hashlib.sha256()
    for part in (source.encode(), resource_type.encode(), resource_url.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def create_receiver_app(
    *,
    store: WebhookStore,
    secret: str,
    secret_header: str | None,
    shipstation_base_url: str,
    jwks: JwksCache | None,
    clock: Callable[[], float] = time.time,
    max_body: int = MAX_BODY_BYTES,
    v2_base_urls: Sequence[str] = (),
    rate_per_minute: float = RATE_PER_MINUTE,
    rate_burst: float = RATE_BURST,
) -> Starlette:
    """Build the receiver; refuses a missing or short secret (the queue would be open to anyone).

    `v2_base_urls`: extra origins a *signed* (V2) delivery's resource_url may point at.
    """
    if len(secret or "") < MIN_SECRET_LENGTH:
        raise ValueError(f"WEBHOOK_SECRET must be at least {MIN_SECRET_LENGTH} characters")
    if not secret_header and not _PATH_SAFE_SECRET.match(secret):
        raise ValueError("WEBHOOK_SECRET travels in the URL path: use only letters, digits and . _ ~ -")
    receiver = _Receiver(store, secret, secret_header or None, shipstation_base_url, v2_base_urls, jwks, clock,
                         max_body, ClientLimiter(rate_per_minute, 60.0, burst=rate_burst))
    deliver_path = WEBHOOK_PATH if secret_header else WEBHOOK_PATH + "/{token}"
    routes = [Route(deliver_path, receiver.deliver, methods=_ANY_METHOD),  # not 405: see the module docstring
              Route("/health", receiver.health, methods=["GET"])]
    return Starlette(routes=routes)
