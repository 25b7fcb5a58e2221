"""Walmart Notifications (webhooks): subscriptions, a parser for deliveries, and their authentication (§11).

Control plane (Notifications OpenAPI): ``GET /v3/webhooks/eventTypes``, ``GET|POST
/v3/webhooks/subscriptions``, ``PATCH|DELETE /v3/webhooks/subscriptions/{subscriptionId}``,
``POST /v3/webhooks/test``. Lists come back as ``{"events": [...]}`` (the spec's examples; its schemas
say ``event``/``eventTypes``, so both are read).

A delivery is ``{"source": {"eventType", "eventTime", "eventId"}, "payload": {...}}``; for PO_CREATED the
payload names the ``purchaseOrderId`` (developer.walmart.com "Purchase order (PO) created event").
Notifications are hints: the orders sensor polls Walmart for the order itself, so nothing in a
delivery is trusted beyond "something happened". Walmart authenticates a delivery with the header
``authHeaderName`` it was given: BASIC_AUTH sends base64 of ``userName:password`` (documented without a
``Basic`` prefix; both are accepted), HMAC sends the HMAC-SHA256 of the complete body keyed with
``clientSecret`` (the encoding is not documented: base64 and hex are both accepted).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors.walmart.client import WalmartClient, _segment
from connectors.walmart.items import send

EVENT_TYPES_PATH = "/v3/webhooks/eventTypes"
SUBSCRIPTIONS_PATH = "/v3/webhooks/subscriptions"
TEST_PATH = "/v3/webhooks/test"
PO_CREATED = "PO_CREATED"
AuthMethod = Literal["BASIC_AUTH", "HMAC", "OAUTH"]


class AuthDetails(BaseModel):
    """How Walmart authenticates to our endpoint; secrets are ``SecretStr`` (never in a repr)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    auth_method: AuthMethod = Field(alias="authMethod")
    auth_header_name: str = Field("Authorization", alias="authHeaderName")
    user_name: str | None = Field(None, alias="userName")
    password: SecretStr | None = None
    client_id: str | None = Field(None, alias="clientId")
    client_secret: SecretStr | None = Field(None, alias="clientSecret")
    auth_url: str | None = Field(None, alias="authUrl")

    def wire(self) -> dict[str, str]:
        out = {"authMethod": self.auth_method, "authHeaderName": self.auth_header_name, "userName": self.user_name,
               "password": self.password, "clientId": self.client_id, "clientSecret": self.client_secret,
               "authUrl": self.auth_url}
        return {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in out.items() if v is not None}


class Subscription(BaseModel):
    """One subscription as Walmart lists it."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    subscription_id: str = Field(alias="subscriptionId")
    event_type: str = Field(alias="eventType")
    event_version: str = Field("V1", alias="eventVersion")
    resource_name: str = Field("", alias="resourceName")
    status: str = ""
    event_url: str = Field("", alias="eventUrl")
    partner_id: str = Field("", alias="partnerId")
    auth_details: AuthDetails | None = Field(None, alias="authDetails")
    headers: dict[str, str] = Field(default_factory=dict)


class EventType(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    event_type: str = Field(alias="eventType")
    event_version: str = Field(alias="eventVersion")
    resource_name: str = Field(alias="resourceName")
    description: str = ""


class Notification(BaseModel):
    """A parsed delivery: what happened, when, and (for order events) which purchase order."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    event_type: str
    event_time: datetime | None
    purchase_order_id: str | None
    partner_id: str | None


class NotificationError(ValueError):
    """A delivery body we cannot read; names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"notification {field}: {message}")
        self.field = field


def subscription_spec(event_url: str, auth: AuthDetails | None = None, *, event_type: str = PO_CREATED,
                      event_version: str = "V1", resource_name: str = "ORDER", status: str = "ACTIVE",
                      headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One entry of a create-subscription body (PO_CREATED on ORDER by default)."""
    spec: dict[str, Any] = {"eventType": event_type, "eventVersion": event_version, "resourceName": resource_name,
                            "eventUrl": event_url, "status": status,
                            "headers": dict(headers or {"content-type": "application/json"})}
    if auth is not None:
        spec["authDetails"] = auth.wire()
    return spec


class WalmartNotifications:
    """The Notifications API through a :class:`WalmartClient` (its token, pacing and error classification)."""

    def __init__(self, client: WalmartClient) -> None:
        self.client = client

    def event_types(self) -> list[EventType]:
        reply = self.client.request_json("GET", EVENT_TYPES_PATH)
        return [EventType.model_validate(e) for e in _listed(reply, "eventTypes")]

    def list_subscriptions(self, *, event_type: str | None = None, status: str | None = None,
                           resource_name: str | None = None, subscription_id: str | None = None) -> list[Subscription]:
        params = {"eventType": event_type, "status": status, "resourceName": resource_name,
                  "subscriptionId": subscription_id}
        reply = self.client.request_json("GET", SUBSCRIPTIONS_PATH, params=params)
        return [Subscription.model_validate(e) for e in _listed(reply, "event")]

    def create_subscriptions(self, specs: Iterable[Mapping[str, Any]]) -> list[Subscription]:
        """Create one or more (see :func:`subscription_spec`); Walmart answers ids and statuses only."""
        reply = send(self.client, "POST", SUBSCRIPTIONS_PATH, body={"events": [dict(s) for s in specs]})
        return [Subscription.model_validate(e) for e in _listed(reply, "event")]

    def update_subscription(self, subscription_id: str, **changes: Any) -> Subscription:
        """PATCH ``eventUrl``, ``status``, ``authDetails`` (an :class:`AuthDetails` or dict) or ``headers``."""
        if isinstance(changes.get("authDetails"), AuthDetails):
            changes["authDetails"] = changes["authDetails"].wire()
        reply = send(self.client, "PATCH", f"{SUBSCRIPTIONS_PATH}/{_segment(subscription_id)}", body=changes,
                     record=subscription_id)
        return Subscription.model_validate(reply)

    def delete_subscription(self, subscription_id: str) -> str:
        reply = self.client.request_json("DELETE", f"{SUBSCRIPTIONS_PATH}/{_segment(subscription_id)}",
                                          record=subscription_id)
        return str((reply or {}).get("message") or "")

    def test_notification(self, spec: Mapping[str, Any]) -> str:
        """Ask Walmart to send a sample event to ``spec["eventUrl"]`` now; its confirmation message."""
        body = {k: v for k, v in spec.items() if k != "status"}
        reply = send(self.client, "POST", TEST_PATH, body=body, record=str(spec.get("eventUrl")))
        return str((reply or {}).get("message") or "")


def _listed(reply: Any, schema_key: str) -> list[Mapping[str, Any]]:
    if not isinstance(reply, Mapping):
        return []
    rows = reply.get("events", reply.get(schema_key)) or []
    return [r for r in rows if isinstance(r, Mapping)]


def parse_notification(body: bytes | str) -> Notification:
    """Read a delivery body; :class:`NotificationError` names what is missing or malformed."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise NotificationError("body", "is not JSON") from None
    if not isinstance(doc, dict):
        raise NotificationError("body", "is not a JSON object")
    source, payload = doc.get("source"), doc.get("payload")
    if not isinstance(source, dict):
        raise NotificationError("source", "is missing")
    payload = payload if isinstance(payload, dict) else {}
    event_type, event_id = source.get("eventType"), source.get("eventId")
    if not isinstance(event_type, str) or not event_type.strip():
        raise NotificationError("source.eventType", "is missing")
    if not isinstance(event_id, str) or not event_id.strip():
        raise NotificationError("source.eventId", "is missing")
    po = payload.get("purchaseOrderId") or (payload.get("order") or {}).get("purchaseOrderId")
    if event_type.upper().startswith("PO_") and not (isinstance(po, str | int) and str(po).strip()):
        raise NotificationError("payload.purchaseOrderId", f"is missing from a {event_type} event")
    return Notification(event_id=event_id.strip(), event_type=event_type.strip().upper(),
                        event_time=_instant(source.get("eventTime")), purchase_order_id=str(po).strip() if po else None,
                        partner_id=str(payload["partnerId"]) if payload.get("partnerId") else None)


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def hmac_matches(body: bytes, presented: str, secret: str) -> bool:
    """Whether ``presented`` is the HMAC-SHA256 of ``body`` keyed with ``secret`` (base64 or hex)."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    value = presented.strip()
    candidates = [base64.b64encode(digest).decode(), digest.hex()]
    return any(hmac.compare_digest(value.encode(), c.encode()) for c in candidates)


def basic_matches(presented: str, user: str, password: str) -> bool:
    """Whether ``presented`` is base64 of ``user:password``, with or without a ``Basic`` prefix."""
    value = presented.strip()
    if value[:6].lower() == "basic ":
        value = value[6:].strip()
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(decoded, f"{user}:{password}".encode())
