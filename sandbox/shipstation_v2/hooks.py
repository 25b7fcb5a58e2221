"""V2 webhooks (reference §5.4): subscriptions under `/v2/environment/webhooks` and signed delivery.

Shapes from the V2 OpenAPI copy: create `{event, url, headers?: [{key, value}]}` → 200 `{webhook_id,
url, event, headers}`; list → a bare array; get → the webhook; `PUT {url, headers?}` → 204; delete →
204; 409 is documented for create. Event names: the spec's enum (`batch`, `carrier_connected`,
`order_source_refresh_complete`, `rate`, `report_complete`, `sales_orders_imported`, `track`) and the
V2 names the docs use, lowercase (`batch_processed_v2`, `track_event_v2`, `shipment_created_v2`,
`label_created_v2`).

Assumptions: one webhook per event name (a second is 409 `[sandbox] …`, our reading of the
documented 409); `url` must be an absolute http(s) URL; only tracking events are ever fired here.
A tracking change is delivered as `{"resource_url": "<base>/v2/labels/<label_id>/track",
"resource_type": "TRACK_EVENT_V2" | "API_TRACK", "data": <the tracking document>}` (TRACK_EVENT_V2 for
`track_event_v2` hooks, as in the docs' example; ShipEngine's `API_TRACK` for `track` hooks), with the
hook's own headers and the three `x-shipengine-*` signature headers computed over the exact bytes sent,
at the moment they are sent. Delivery timing and losses are the V1 dispatcher's (`delay`, `drop_rate`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from sandbox.shipstation.delivery import Delivery, Dispatcher
from sandbox.shipstation_v2.errors import V2Error, invalid, not_found, required
from sandbox.shipstation_v2.signing import Signer

Record = dict[str, Any]
SPEC_EVENTS = ("batch", "carrier_connected", "order_source_refresh_complete", "rate", "report_complete",
               "sales_orders_imported", "track")
V2_EVENTS = ("batch_processed_v2", "track_event_v2", "shipment_created_v2", "label_created_v2")
EVENTS = SPEC_EVENTS + V2_EVENTS
RESOURCE_TYPES = {"track": "API_TRACK", "track_event_v2": "TRACK_EVENT_V2"}


@dataclass(frozen=True)
class TrackEvent:
    """A label's tracking changed; `data` is its tracking document."""

    label_id: str
    data: Record = field(hash=False, compare=False)
    resource_type: str = "TRACK_EVENT_V2"

    def resource_url(self, base_url: str) -> str:
        """`<base>/v2/labels/<label_id>/track`."""
        return f"{base_url.rstrip('/')}/v2/labels/{self.label_id}/track"


def _url(value: Any) -> str:
    if value in (None, ""):
        raise required("url")
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise invalid(f"url must be an absolute http(s) URL: {value!r}")
    return value


def _headers(value: Any) -> list[Record]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(h, dict) and isinstance(h.get("key"), str)
                                              and isinstance(h.get("value"), str) for h in value):
        raise invalid("headers must be a list of {key, value} strings")
    return [{"key": h["key"], "value": h["value"]} for h in value]


class HookRegistry:
    """The environment's webhooks."""

    def __init__(self) -> None:
        self.hooks: dict[str, Record] = {}
        self._next = 310_001

    def create(self, body: Any) -> Record:
        """Validate and store one webhook; 400 naming the bad field, 409 for an event already hooked."""
        if not isinstance(body, dict):
            raise invalid("request body must be a JSON object")
        event = body.get("event")
        if event in (None, ""):
            raise required("event")
        if event not in EVENTS:
            raise invalid(f"event must be one of {', '.join(EVENTS)}")
        if any(hook["event"] == event for hook in self.hooks.values()):
            raise V2Error(409, "validation", "invalid_field_value", f"[sandbox] a webhook for {event} already exists")
        hook = {"webhook_id": f"se-{self._next}", "url": _url(body.get("url")), "event": event,
                "headers": _headers(body.get("headers"))}
        self._next += 1
        self.hooks[hook["webhook_id"]] = hook
        return hook

    def get(self, webhook_id: str) -> Record:
        """One webhook; 404 if unknown."""
        if webhook_id not in self.hooks:
            raise not_found("webhook_id", webhook_id)
        return self.hooks[webhook_id]

    def update(self, webhook_id: str, body: Any) -> None:
        """`PUT`: a new url and optionally new headers."""
        hook = self.get(webhook_id)
        if not isinstance(body, dict):
            raise invalid("request body must be a JSON object")
        changed = {**hook, "url": _url(body.get("url"))}
        if "headers" in body:
            changed["headers"] = _headers(body["headers"])
        self.hooks[webhook_id] = changed

    def delete(self, webhook_id: str) -> None:
        """Remove one webhook; 404 if unknown."""
        self.get(webhook_id)
        del self.hooks[webhook_id]

    def targets(self, event: TrackEvent) -> list[Record]:
        """Hooks a tracking change goes to (`track` and `track_event_v2`)."""
        return [hook for hook in self.hooks.values() if hook["event"] in RESOURCE_TYPES]


class SignedDispatcher(Dispatcher):
    """The V1 dispatcher's timing and losses, with V2 bodies signed at the moment they are sent."""

    def __init__(self, hooks: HookRegistry, signer: Signer, **options: Any) -> None:
        super().__init__(hooks, **options)  # type: ignore[arg-type]
        self.signer = signer

    def address(self, hook: Record) -> tuple[Any, str]:
        """A V2 hook's id and URL."""
        return hook["webhook_id"], hook["url"]

    def post(self, client: httpx.Client, entry: Delivery) -> httpx.Response:
        """POST the event's JSON with the hook's headers and the signature of those exact bytes."""
        resource_type = RESOURCE_TYPES.get(entry.hook.get("event"), entry.resource_type)
        body = json.dumps({"resource_url": entry.resource_url, "resource_type": resource_type,
                           "data": entry.event.data}, separators=(",", ":")).encode()
        headers = {h["key"]: h["value"] for h in entry.hook.get("headers") or ()}
        headers.update({"Content-Type": "application/json", **self.signer.sign(body)})
        return client.post(entry.target, content=body, headers=headers)
