"""Walmart Marketplace as a webhook source: order notifications (PO_CREATED) wake the orders sensor early.

`POST /walmart/webhook`, mounted only when WALMART_WEBHOOK_SECRET is set (else 404 like any unknown path).

How Walmart authenticates a delivery (reference §11; developer.walmart.com "Create subscription"):
the subscription's `authDetails` name a header (`authHeaderName`) and a method. We subscribe with one
of the two that need no endpoint of ours beyond this one (`WALMART_WEBHOOK_AUTH`):

- `HMAC` (default): the header holds the HMAC-SHA256 of the complete body keyed with the
  `clientSecret` we gave Walmart (= WALMART_WEBHOOK_SECRET). Walmart does not document the encoding,
  so base64 and hex are both accepted. Verified over the raw bytes before anything is parsed.
- `BASIC_AUTH`: the header holds base64 of `userName:password` (WALMART_WEBHOOK_USER and the secret),
  documented without a `Basic ` prefix; both forms are accepted. It authenticates the sender, not the
  body, so a wrong header is refused before the body is read (404, like a wrong ShipStation secret).

Neither carries a timestamp, so replays are stopped by the queue: the `delivery_key` is the event's
`source.eventId` (Walmart: "deduplicate on the event id"), and a delivery seen before is stored once.

Then the payload (`connectors.walmart.notifications.parse_notification`): `source.eventType` must be an
order event we act on (PO_CREATED, PO_LINE_AUTOCANCELLED; anything else is 400 `unsupported_event`, a
subscription pointed at the wrong URL) with a `payload.purchaseOrderId` (400 `invalid_payload`). The
event is queued as `resource_type` = the event type, `resource_url` `walmart:orders/<purchaseOrderId>`,
`source` "walmart". Nothing in it is trusted beyond "an order changed": the orders sensor
(`pipelines.walmart_tally.sensors.walmart_orders_sensor`) only polls Walmart early.

Subscribing: `ml-connector webhooks subscribe-walmart` (:func:`cmd_subscribe_walmart`, registered by
:func:`add_subcommand`) calls :func:`subscribe`, which creates the PO_CREATED subscription pointing at
this receiver with the matching `authDetails` (idempotent: one to the same URL is updated instead).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from starlette.requests import Request

from connectors.common.errors import ConnectorError
from connectors.walmart.client import WalmartClient
from connectors.walmart.notifications import (
    AuthDetails,
    NotificationError,
    Subscription,
    WalmartNotifications,
    basic_matches,
    hmac_matches,
    parse_notification,
    subscription_spec,
)
from ml_connector.webhooks.sources import Refused, delivery_key
from state.token_cache import FileTokenCache
from state.webhook_queue import WebhookEvent

WALMART_PATH = "/walmart/webhook"
ORDER_EVENTS = frozenset({"PO_CREATED", "PO_LINE_AUTOCANCELLED"})
DEFAULT_AUTH_HEADER = "Authorization"
DEFAULT_USER = "walmart"
MIN_SECRET_LENGTH = 16
Method = Literal["HMAC", "BASIC_AUTH"]


class WalmartSource:
    """Authenticated Walmart order notifications (see the module docstring)."""

    name = "walmart"
    paths = (WALMART_PATH,)

    def __init__(self, secret: str, *, method: Method = "HMAC", header: str = DEFAULT_AUTH_HEADER,
                 user: str = DEFAULT_USER) -> None:
        """ValueError for a short secret or an auth method we cannot check."""
        if len(secret or "") < MIN_SECRET_LENGTH:
            raise ValueError(f"WALMART_WEBHOOK_SECRET must be at least {MIN_SECRET_LENGTH} characters")
        if method not in ("HMAC", "BASIC_AUTH"):
            raise ValueError("WALMART_WEBHOOK_AUTH must be HMAC or BASIC_AUTH")
        self._secret, self.method, self.header, self.user = secret, method, header or DEFAULT_AUTH_HEADER, user

    @classmethod
    def from_settings(cls, settings: Any) -> WalmartSource | None:
        """The source when WALMART_WEBHOOK_SECRET is set, else None (the route is not mounted)."""
        secret = getattr(settings, "walmart_webhook_secret", None)
        value = secret.get_secret_value() if hasattr(secret, "get_secret_value") else str(secret or "")
        if not value:
            return None
        return cls(value, method=getattr(settings, "walmart_webhook_auth", "HMAC") or "HMAC",
                   header=getattr(settings, "walmart_webhook_auth_header", DEFAULT_AUTH_HEADER),
                   user=getattr(settings, "walmart_webhook_user", DEFAULT_USER) or DEFAULT_USER)

    def __repr__(self) -> str:
        return f"WalmartSource({WALMART_PATH}, {self.method})"

    def auth_details(self) -> AuthDetails:
        """What to give Walmart in the subscription so its deliveries pass :meth:`admits` / :meth:`accept`."""
        if self.method == "HMAC":
            return AuthDetails(auth_method="HMAC", auth_header_name=self.header, client_secret=self._secret)
        return AuthDetails(auth_method="BASIC_AUTH", auth_header_name=self.header, user_name=self.user,
                           password=self._secret)

    def admits(self, request: Request) -> bool:
        """BASIC_AUTH is checked before the body is read; an HMAC is checked over the body in :meth:`accept`."""
        if self.method == "HMAC":
            return True
        return basic_matches(request.headers.get(self.header, ""), self.user, self._secret)

    async def accept(self, request: Request, body: bytes, remote: str, now: float) -> WebhookEvent:
        if self.method == "HMAC" and not hmac_matches(body, request.headers.get(self.header, ""), self._secret):
            raise Refused(401, "bad_signature")
        try:
            note = parse_notification(body)
        except NotificationError as error:
            raise Refused(400, "invalid_payload") from error
        if note.event_type not in ORDER_EVENTS:
            raise Refused(400, "unsupported_event")
        url = f"walmart:orders/{note.purchase_order_id}"
        return WebhookEvent(received_at=now, resource_type=note.event_type, resource_url=url, source="walmart",
                            body=body.decode("utf-8"), remote=remote,
                            delivery_key=delivery_key("walmart", note.event_type, url, note.event_id.encode()))


def receiver_url(public_url: str) -> str:
    """WEBHOOK_PUBLIC_URL (with or without the Walmart path) plus the Walmart path."""
    base = public_url.rstrip("/")
    return base if base.endswith(WALMART_PATH) else base + WALMART_PATH


def subscribe(notifications: WalmartNotifications, source: WalmartSource, public_url: str) -> Subscription:
    """Make Walmart send PO_CREATED to our receiver, authenticated as `source` checks (create or update)."""
    url, auth = receiver_url(public_url), source.auth_details()
    for existing in notifications.list_subscriptions(event_type="PO_CREATED"):
        if existing.event_url == url:
            return notifications.update_subscription(existing.subscription_id, authDetails=auth, status="ACTIVE")
    created = notifications.create_subscriptions([subscription_spec(url, auth)])
    return created[0]


# -- `ml-connector webhooks subscribe-walmart` ------------------------------------------------------------

def add_subcommand(cmds: argparse._SubParsersAction) -> None:
    """Register `subscribe-walmart` on the `webhooks` subcommands."""
    sub = cmds.add_parser("subscribe-walmart", help="make Walmart send new-order notifications (PO_CREATED) to the "
                                                    "receiver, authenticated with WALMART_WEBHOOK_SECRET")
    sub.add_argument("--url", help="public base URL of the receiver; default WEBHOOK_PUBLIC_URL")
    sub.set_defaults(func=cmd_subscribe_walmart)


def cmd_subscribe_walmart(args: argparse.Namespace, settings: Any = None) -> int:
    """Create or update the PO_CREATED subscription; the secret never reaches the terminal."""
    if settings is None:
        from ml_connector.config import Settings

        settings = Settings.from_env()
    source = WalmartSource.from_settings(settings)
    if source is None:
        return _fail("WALMART_WEBHOOK_SECRET is not set: the receiver would refuse Walmart's deliveries")
    public = args.url or getattr(settings, "webhook_public_url", "")
    if not public or urlsplit(public).scheme not in ("http", "https"):
        return _fail("set WEBHOOK_PUBLIC_URL (or --url) to the receiver's public base URL, e.g. https://hooks.example.com")
    home = Path(getattr(settings, "ml_connector_home", ".ml-connector"))
    try:
        with WalmartClient.from_settings(settings, token_cache=FileTokenCache.for_home(home)) as client:
            sub = subscribe(WalmartNotifications(client), source, public)
    except ConnectorError as error:
        return _fail(f"Walmart: {error}", code=1)
    print(f"Walmart PO_CREATED -> {receiver_url(public)}: {sub.status or 'ACTIVE'} (subscription {sub.subscription_id},"
          f" {source.method} in header {source.header})")
    return 0


def _fail(message: str, code: int = 2) -> int:
    print(message, file=sys.stderr)
    return code
