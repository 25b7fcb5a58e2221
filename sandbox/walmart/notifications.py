"""Walmart's Notifications (webhooks): subscriptions, and deliveries of events over real HTTP.

Sources (reference §11; the Notifications OpenAPI file as mirrored in highsidelabs/walmart-api-php
`resources/schemas/us/mp/notifications.json`; developer.walmart.com "Create subscription",
"Subscribe to an event notification", "Purchase order (PO) created event", "New order and
auto-cancelled order notifications"; developer.walmart.com/suppliers "Notifications overview"):

- Event types (the spec's `getEventTypes` example): OFFER_UNPUBLISHED/ITEM, BUY_BOX_CHANGED/PRICE,
  PO_CREATED and PO_LINE_AUTOCANCELLED/ORDER, REPORT_STATUS/REPORTS, all `V1`. The example answers
  `{"events": [...]}` although the schema names the member `eventTypes`; we answer as the example.
- A subscription record: `eventType, eventVersion, resourceName, eventUrl, status (ACTIVE|INACTIVE)`
  (all required on create), optional `authDetails {authMethod BASIC_AUTH|HMAC|OAUTH, userName,
  password, authHeaderName, authUrl, clientId, clientSecret}` and `headers`; Walmart adds
  `subscriptionId` (a UUID) and `partnerId`. Create answers `{"events": [{eventType, subscriptionId,
  partnerId, eventVersion, resourceName, status}]}`; list answers full records (the spec example echoes
  `authDetails`, password included); PATCH answers the full record; DELETE answers
  `{"subscriptionId", "message": "Successfully deleted subscription"}`. Again the examples say `events`
  where the response schema says `event`: we follow the examples.
- Only ACTIVE subscriptions are notified ("Notification will be triggered only if subscription is in
  ACTIVE status").
- Delivery authentication, per `authMethod`: BASIC_AUTH — header `authHeaderName` = base64 of
  `userName:password` (the docs say "BASE64 encoding of userName and password": sent exactly so, no
  `Basic ` prefix, separator `:` assumed); HMAC — header `authHeaderName` = HMAC-SHA256 of the complete
  body keyed with `clientSecret` (encoding not documented: we send base64 [unverified]); OAUTH — first
  `POST authUrl` with `grant_type=client_credentials`, `authHeaderName: Basic base64(clientId:clientSecret)`,
  `Accept: application/json`, form content type; a 200 with `access_token` and `expires_in` is required;
  the event then carries `authHeaderName: Bearer <access_token>`. Custom `headers` go on every delivery.
- PO_CREATED is sent when a purchase order is released to the seller. Body: `{"source": {"eventType",
  "eventTime", "eventId"}, "payload": {"partnerId", "purchaseOrderId", "customerOrderId", "orderDate",
  "estimatedDeliveryDate", "estimatedShipDate", "orderLines": [{"lineNumber", "sku", "productName",
  "quantity": {"unitOfMeasure", "measurementValue"}, "status", "statusDate", "shippingMethod",
  "shipNodeType"}]}}` (the field table of the PO created page; times ISO-8601 UTC, quantities strings).
- A 2xx answer acknowledges. Otherwise Walmart retries: the supplier docs state two retries (three
  attempts); the interval is not published, so `retry_delays` (default 60 s, 300 s) is an assumption.
  Deliveries run on a background thread and never hold up the API call that caused them.

`POST /v3/webhooks/test` delivers a sample event synchronously and answers
`{"message": "Eventurl successfully validated"}` when the endpoint answered 2xx (400 otherwise, `[sandbox]` text).
Sending (authentication headers, the background sender and its retries) is `delivery.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sandbox.walmart import errors
from sandbox.walmart.clock import from_epoch_ms, iso_z

Record = dict[str, Any]
SERVICE = "GMP_NOTIFICATIONS_API"  # [sandbox] suffix: no error sample of this API was found
EVENT_TYPES: tuple[Record, ...] = (
    {"resourceName": "ITEM", "eventType": "OFFER_UNPUBLISHED", "eventVersion": "V1",
     "description": "Notification for unpublished offers"},
    {"resourceName": "PRICE", "eventType": "BUY_BOX_CHANGED", "eventVersion": "V1",
     "description": "Notification for change in buy box"},
    {"resourceName": "ORDER", "eventType": "PO_CREATED", "eventVersion": "V1",
     "description": "Notification for new purchase order created"},
    {"resourceName": "ORDER", "eventType": "PO_LINE_AUTOCANCELLED", "eventVersion": "V1",
     "description": "Notification for purchase order line auto-cancelled"},
    {"resourceName": "REPORTS", "eventType": "REPORT_STATUS", "eventVersion": "V1",
     "description": "Notification for report status"},
)
AUTH_FIELDS = {"BASIC_AUTH": ("userName", "password", "authHeaderName"), "HMAC": ("clientSecret", "authHeaderName"),
               "OAUTH": ("clientId", "clientSecret", "authUrl", "authHeaderName")}
REQUIRED = ("eventType", "eventVersion", "resourceName", "eventUrl", "status")
MUTABLE = ("eventUrl", "authDetails", "headers", "status", "eventVersion")


def bad(why: str, field_name: str | None = None) -> errors.WalmartError:
    return errors.bad_content(why, SERVICE, field=field_name)


def _text(record: Record, name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value.strip():
        raise bad(f"{name} is required", name)
    return value.strip()


def checked_url(value: Any, name: str = "eventUrl") -> str:
    """A public HTTP(S) URL (the docs: "must be a public HTTP or HTTPS endpoint"; loopback allowed here)."""
    parts = urlsplit(str(value or ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad(f"{name} must be an http or https URL", name)
    return str(value)


def checked_auth(auth: Any) -> Record | None:
    """`authDetails` with the fields its `authMethod` needs, or None when absent."""
    if auth is None:
        return None
    if not isinstance(auth, dict):
        raise bad("authDetails must be an object", "authDetails")
    method = auth.get("authMethod")
    if method not in AUTH_FIELDS:
        raise bad("authMethod must be BASIC_AUTH, OAUTH or HMAC", "authDetails.authMethod")
    for name in AUTH_FIELDS[method]:
        _text(auth, name)
    if method == "OAUTH":
        checked_url(auth["authUrl"], "authDetails.authUrl")
    return {k: str(v) for k, v in auth.items() if k in {"authMethod", *AUTH_FIELDS[method]}}


def checked_status(value: Any) -> str:
    if value not in ("ACTIVE", "INACTIVE"):
        raise bad("status must be ACTIVE or INACTIVE", "status")
    return str(value)


def event_type(name: Any, version: Any, resource: Any) -> Record:
    for known in EVENT_TYPES:
        if (known["eventType"], known["eventVersion"], known["resourceName"]) == (name, version, resource):
            return known
    raise bad(f"unknown eventType/eventVersion/resourceName {name}/{version}/{resource}", "eventType")


@dataclass
class Subscription:
    subscription_id: str
    partner_id: str
    record: Record  # eventType, eventVersion, resourceName, eventUrl, status, authDetails?, headers?

    @classmethod
    def create(cls, raw: Any, partner_id: str) -> Subscription:
        if not isinstance(raw, dict):
            raise bad("each event must be an object", "events")
        for name in REQUIRED:
            _text(raw, name)
        event_type(raw["eventType"], raw["eventVersion"], raw["resourceName"])
        record = {k: raw[k] for k in REQUIRED}
        record["eventUrl"] = checked_url(raw["eventUrl"])
        record["status"] = checked_status(raw["status"])
        if (auth := checked_auth(raw.get("authDetails"))) is not None:
            record["authDetails"] = auth
        record["headers"] = headers_of(raw.get("headers"))
        return cls(str(uuid.uuid1()), partner_id, record)

    def update(self, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise bad("body must be an object")
        changed = dict(self.record)
        for name in MUTABLE:
            if name in raw:
                changed[name] = raw[name]
        event_type(raw.get("eventType", changed["eventType"]), changed["eventVersion"],
                   raw.get("resourceName", changed["resourceName"]))
        changed["eventUrl"] = checked_url(changed["eventUrl"])
        changed["status"] = checked_status(changed["status"])
        if "authDetails" in raw:
            changed["authDetails"] = checked_auth(raw["authDetails"])
        changed["headers"] = headers_of(changed.get("headers"))
        self.record = {k: v for k, v in changed.items() if v is not None}

    @property
    def active(self) -> bool:
        return self.record["status"] == "ACTIVE"

    def summary(self) -> Record:
        """The create answer's entry."""
        return {"eventType": self.record["eventType"], "subscriptionId": self.subscription_id,
                "partnerId": self.partner_id, "eventVersion": self.record["eventVersion"],
                "resourceName": self.record["resourceName"], "status": self.record["status"]}

    def doc(self) -> Record:
        """The list / update answer's entry (authDetails echoed, as the spec's example does)."""
        out = self.summary() | {"eventUrl": self.record["eventUrl"], "headers": self.record["headers"]}
        if "authDetails" in self.record:
            out["authDetails"] = self.record["authDetails"]
        return out


def headers_of(raw: Any) -> dict[str, str]:
    if raw is None:
        return {"content-type": "application/json"}
    if not isinstance(raw, dict):
        raise bad("headers must be an object", "headers")
    return {str(k): str(v) for k, v in raw.items()}


def po_created(order_doc: Record, partner_id: str, at: datetime) -> Record:
    """The PO_CREATED event for a purchase order document (see the module docstring)."""
    ship = order_doc["shippingInfo"]
    lines = [{"lineNumber": line["lineNumber"], "sku": line["item"]["sku"], "productName": line["item"]["productName"],
              "quantity": {"unitOfMeasure": "EACH", "measurementValue": str(line["orderLineQuantity"]["amount"])},
              "status": "CREATED", "statusDate": iso_z(from_epoch_ms(line["statusDate"])),
              "shippingMethod": ship["methodCode"], "shipNodeType": order_doc["shipNode"]["type"]}
             for line in order_doc["orderLines"]["orderLine"]]
    payload = {"partnerId": partner_id, "purchaseOrderId": order_doc["purchaseOrderId"],
               "customerOrderId": order_doc["customerOrderId"],
               "orderDate": iso_z(from_epoch_ms(order_doc["orderDate"])),
               "estimatedDeliveryDate": iso_z(from_epoch_ms(ship["estimatedDeliveryDate"])),
               "estimatedShipDate": iso_z(from_epoch_ms(ship["estimatedShipDate"])), "orderLines": lines}
    return envelope("PO_CREATED", at, payload)


def sample_event(kind: str, partner_id: str, at: datetime) -> Record:
    """What `POST /v3/webhooks/test` sends: an event of `kind` about no real record ([sandbox] sample ids)."""
    payload: Record = {"partnerId": partner_id}
    if kind.startswith("PO_"):
        payload |= {"purchaseOrderId": "1000000000001", "customerOrderId": "2000000000001",
                    "orderDate": iso_z(at), "orderLines": []}
    return envelope(kind, at, payload)


def envelope(kind: str, at: datetime, payload: Record) -> Record:
    return {"source": {"eventType": kind, "eventTime": iso_z(at), "eventId": str(uuid.uuid4())}, "payload": payload}

