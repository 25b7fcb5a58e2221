"""ShipStation as a webhook source: V1 deliveries with our secret, V2 deliveries signed too.

`POST /shipstation/webhook/<secret>` (or `/shipstation/webhook` with the secret in the header named by
WEBHOOK_SECRET_HEADER). After the receiver's rate limit (`app.py`):

1. POST and the secret (constant-time); another method or a wrong or missing secret -> 404, the
   same answer as any unknown path, so a scanner learns nothing about which form or path is live.
   V1 deliveries carry no signature (reference §4), so the secret is required on every delivery,
   signed or not;
2. the body size (413, the receiver);
3. V2 signature headers (§5.4): if any is present all must be (400), the timestamp within five
   minutes (400), the signature valid for the JWKS key with that kid (401; an unknown kid refreshes
   the JWKS once first; JWKS unreachable -> 503). Verified before the body is parsed: unverified
   bytes are never interpreted;
4. the payload: a JSON object with string `resource_url` and a known `resource_type` (400);
5. `resource_url` must point at our ShipStation (`resource_url_allowed`, 400). The receiver never
   fetches anything; the sensor follows the URL later through the ShipStation client.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from connectors.shipstation.webhooks import V1_EVENTS, resource_url_allowed
from ml_connector.webhooks.signature import JwksCache, SignatureError, signed_headers
from ml_connector.webhooks.sources import Refused, delivery_key
from state.webhook_queue import WebhookEvent

WEBHOOK_PATH = "/shipstation/webhook"
MIN_SECRET_LENGTH = 16
# V2 event names (reference §5.4: UI ids and the older lower-case spec names; exact enum unverified).
V2_EVENTS = frozenset({
    "BATCH_PROCESSED_V2", "TRACK_EVENT_V2", "SHIPMENT_CREATED_V2", "LABEL_CREATED_V2", "FULFILLMENT_SHIPPED_V2",
    "FULFILLMENT_REJECTED_V2", "BATCH", "CARRIER_CONNECTED", "ORDER_SOURCE_REFRESH_COMPLETE", "RATE",
    "REPORT_COMPLETE", "SALES_ORDERS_IMPORTED", "TRACK",
})
_PATH_SAFE_SECRET = re.compile(r"^[A-Za-z0-9._~-]+$")


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


class ShipStationSource:
    """V1 (`source` "v1") and signed V2 (`source` "v2") deliveries; see the module docstring."""

    name = "shipstation"

    def __init__(self, secret: str, secret_header: str | None, base_url: str, v2_base_urls: Sequence[str] = (),
                 jwks: JwksCache | None = None) -> None:
        """ValueError for a missing or short secret (the queue would be open to anyone) or one a path cannot carry."""
        if len(secret or "") < MIN_SECRET_LENGTH:
            raise ValueError(f"WEBHOOK_SECRET must be at least {MIN_SECRET_LENGTH} characters")
        if not secret_header and not _PATH_SAFE_SECRET.match(secret):
            raise ValueError("WEBHOOK_SECRET travels in the URL path: use only letters, digits and . _ ~ -")
        self._secret = secret.encode()
        self.secret_header = secret_header or None
        self.base_url = base_url
        self.v2_base_urls = tuple(v2_base_urls)
        self.jwks = jwks
        self.paths = (WEBHOOK_PATH if self.secret_header else WEBHOOK_PATH + "/{token}",)

    def __repr__(self) -> str:
        return f"ShipStationSource({masked_path(self.secret_header)})"

    def admits(self, request: Request) -> bool:
        """The secret, from the header or the path's last segment (constant time)."""
        if self.secret_header:
            presented = request.headers.get(self.secret_header, "")
        else:
            presented = request.path_params.get("token", "")
        return hmac.compare_digest(presented.encode(), self._secret)

    async def accept(self, request: Request, body: bytes, remote: str, now: float) -> WebhookEvent:
        signed = await self._verify(request, body, now)
        resource_type, resource_url = _payload(body, signed)
        allowed = [self.base_url, *(self.v2_base_urls if signed else ())]
        if not any(resource_url_allowed(resource_url, base) for base in allowed):
            raise Refused(400, "resource_url_not_allowed")
        source = "v2" if signed else "v1"
        return WebhookEvent(received_at=now, resource_type=resource_type, resource_url=resource_url,
                            source=source, body=body.decode("utf-8"), remote=remote,
                            delivery_key=delivery_key(source, resource_type, resource_url, body))

    async def _verify(self, request: Request, body: bytes, now: float) -> bool:
        """True for a delivery with a valid V2 signature, False for one with no signature headers."""
        try:
            if signed_headers(request.headers) is None:
                return False
            if self.jwks is None:
                raise Refused(401, "signature_unverifiable")  # no JWKS configured: cannot trust it
            await run_in_threadpool(self.jwks.verify, request.headers, body, now)
        except SignatureError as exc:
            raise Refused(exc.status, _snake(type(exc).__name__)) from exc
        return True


def _payload(body: bytes, signed: bool) -> tuple[str, str]:
    try:
        data: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nesting too deep
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


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
