"""What the receiver knows of a sender: one `WebhookSource` per system, so adding a system is one entry.

The receiver (`app.py`) does what every source needs, in this order: the sender's rate (429), POST on
one of the source's paths and `admits(request)` (else 404, the same answer as an unknown path), the
body read with a size limit (413), then `accept(...)`, then `WebhookStore.add_once` (503 when the
store is down) and only then the 200. A source does only what is its own:

- `name`: the queue's `source` column, one of `state.webhook_queue.SOURCES` (add it there first: the
  next open of every queue migrates its CHECK);
- `paths`: Starlette route paths (a `{token}` segment is fine; `admits` reads it);
- `admits(request) -> bool`: a cheap check before the body is read (ShipStation's secret in the path
  or a header); return True when authenticity is only in the signed body (Zoho);
- `async accept(request, body, remote, now) -> WebhookEvent`: authenticate the raw bytes *before*
  parsing them (raise `Refused(401, code)`), parse and validate (`Refused(400, code)`), and return
  the event with a `delivery_key` (use `delivery_key(...)` over everything that was signed), so a
  redelivery or a captured request sent again is stored once.

The receiver logs the event id, `resource_type`, `source`, the host of `resource_url` (or its path
when it has no host, e.g. `zoho:contacts/46000...`) and the sender's address: never a body, a header
or the request path. So never put a secret in `resource_url`.

Registering a source (as `walmart.py` did):
1. `ml_connector/webhooks/<system>.py`: a class with the four members above and a classmethod
   `from_settings(settings) -> source | None` (see `zoho.py`, ~100 lines).
2. `build_sources(settings)` below: its `from_settings` in the tuple.
3. `ml_connector/webhooks/settings.py`: its secret (a `SecretStr`) and README/.env.example rows.
4. A sensor in the flow that drains events of its `resource_type` from `state.webhook_queue`
   under its own cursor (see `pipelines/shipstation_zoho/sensors.py`).
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

from starlette.requests import Request

from state.webhook_queue import WebhookEvent


class Refused(Exception):
    """A delivery we answer with `status` and a short machine-readable `code`."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


class WebhookSource(Protocol):
    """One sender the receiver takes deliveries from (see the module docstring)."""

    name: str
    paths: tuple[str, ...]

    def admits(self, request: Request) -> bool: ...

    async def accept(self, request: Request, body: bytes, remote: str, now: float) -> WebhookEvent: ...


def delivery_key(source: str, resource_type: str, resource_url: str, body: bytes, *signed: bytes) -> str:
    """What makes two deliveries the same one: a hash of everything that was delivered (and signed)."""
    digest = hashlib.sha256()
    for part in (source.encode(), resource_type.encode(), resource_url.encode(), body, *signed):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def build_sources(settings: Any) -> list[WebhookSource]:
    """The sources whose secrets are configured in `settings` (ShipStation's is built by `create_receiver_app`).

    Each entry is a source class's `from_settings(settings) -> source | None` (None: not configured,
    so its route is not mounted); ValueError when a configured secret is unusable.
    """
    from ml_connector.webhooks.walmart import WalmartSource
    from ml_connector.webhooks.zoho import ZohoSource

    built = (factory(settings) for factory in (ZohoSource.from_settings, WalmartSource.from_settings))
    return [source for source in built if source is not None]
