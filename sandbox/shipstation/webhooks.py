"""V1 webhook subscriptions and the events they are fired for (reference §4, §8.3).

`POST /webhooks/subscribe` answers `{"id": n}` (the apiary spec's shape; the newer OpenAPI's
`{WebHookID, HookType, Url, Name}` is the alternative clients must also accept). `GET /webhooks`
lists `{"webhooks": [...]}` with the 14 keys of the docs' example; `DELETE /webhooks/{id}` answers
200 with an empty body. Delivery lives in `delivery.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from sandbox.shipstation.errors import invalid, not_found

Record = dict[str, Any]
EVENTS = ("ORDER_NOTIFY", "ITEM_ORDER_NOTIFY", "SHIP_NOTIFY", "ITEM_SHIP_NOTIFY", "FULFILLMENT_SHIPPED",
          "FULFILLMENT_REJECTED")
SELLER_ID = 100_310_001  # the sandbox account's seller id, as `GET /webhooks` reports it


@dataclass(frozen=True)
class Event:
    """Something a webhook reports: its type, the store it happened in and the list URL that shows it."""

    resource_type: str
    store_id: int | None
    path: str
    params: tuple[tuple[str, str], ...]

    def resource_url(self, base_url: str) -> str:
        """`<base>/orders?storeID=…&importBatch=…` or `<base>/shipments?storeID=…&batchId=…&…` (§4)."""
        query = urlencode((("storeID", "" if self.store_id is None else str(self.store_id)), *self.params))
        return f"{base_url.rstrip('/')}{self.path}?{query}"


def order_event(store_id: int | None, import_batch: str) -> Event:
    """ORDER_NOTIFY for one import action in one store."""
    return Event("ORDER_NOTIFY", store_id, "/orders", (("importBatch", import_batch),))


def ship_event(store_id: int | None, batch_id: int) -> Event:
    """SHIP_NOTIFY for the labels of one batch in one store."""
    return Event("SHIP_NOTIFY", store_id, "/shipments",
                 (("batchId", str(batch_id)), ("includeShipmentItems", "False")))


def _http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


class WebhookRegistry:
    """The account's subscriptions."""

    def __init__(self) -> None:
        self.hooks: dict[int, Record] = {}
        self._next_id = 123_456

    def subscribe(self, body: Any, store_ids: set[int]) -> Record:
        """Validate a subscribe body and store the hook; 400 naming the bad field."""
        if not isinstance(body, dict):
            raise invalid("webhook", "Cannot deserialize the current JSON value into type 'SubscribeRequest'.")
        url, event, store_id, name = (body.get(k) for k in ("target_url", "event", "store_id", "friendly_name"))
        if url in (None, ""):
            raise invalid("target_url", "The target_url field is required.")
        if not _http_url(url):
            raise invalid("target_url", f"[sandbox] target_url must be an absolute http(s) URL: {url!r}.")
        if event in (None, ""):
            raise invalid("event", "The event field is required.")
        if event not in EVENTS:
            raise invalid("event", f"Requested value '{event}' was not found.")
        store = _store_id(store_id, store_ids)
        hook = {"WebHookID": self._next_id, "HookType": event, "Url": url, "StoreID": store,
                "Name": None if name is None else str(name)}
        self.hooks[self._next_id] = hook
        self._next_id += 1
        return hook

    def delete(self, hook_id: int) -> None:
        """Unsubscribe; 404 if there is no such hook."""
        if self.hooks.pop(hook_id, None) is None:
            raise not_found("Webhook", hook_id)

    def targets(self, event: Event) -> list[Record]:
        """Hooks an event goes to: its type, and either no store filter or the event's store."""
        return [hook for hook in self.hooks.values() if hook["HookType"] == event.resource_type
                and hook["StoreID"] in (None, event.store_id)]

    def listing(self) -> dict[str, Any]:
        """The `GET /webhooks` body."""
        return {"webhooks": [_listed(hook) for hook in self.hooks.values()]}


def _store_id(value: Any, known: set[int]) -> int | None:
    if value in (None, ""):
        return None
    try:
        store = int(value)
    except (TypeError, ValueError):
        raise invalid("store_id", f"Could not convert {value!r} to an integer.") from None
    if store not in known:
        raise invalid("store_id", f"[sandbox] Store {store} was not found.")
    return store


def _listed(hook: Record) -> Record:
    return {"IsLabelAPIHook": False, "WebHookID": hook["WebHookID"], "SellerID": SELLER_ID,
            "StoreID": hook["StoreID"], "HookType": hook["HookType"], "MessageFormat": "Json", "Url": hook["Url"],
            "Name": hook["Name"], "BulkCopyBatchID": None, "BulkCopyRecordID": None, "Active": True,
            "WebhookLogs": [], "Seller": None, "Store": None}
