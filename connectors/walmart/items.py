"""Walmart inventory and prices: single calls, bulk feeds, feed status and item-level results (reference §4–§6).

- Single calls: ``PUT /v3/inventory?sku=`` with ``{"sku", "quantity": {"unit": "EACH", "amount"}}`` and
  ``PUT /v3/price`` with ``{"sku", "pricing": [{"currentPriceType": "BASE", "currentPrice": {...}}]}``. A
  refusal raises ``WalmartRequestError`` naming the SKU.
- Feeds: ``POST /v3/feeds?feedType=inventory|price`` as ``multipart/form-data`` with the part ``file``
  (inventory spec 1.4, price spec 1.7, up to 10,000 items each); the answer is a ``feedId`` holding ``@``,
  sent as ``%40`` in later paths. ``GET /v3/feeds/{feedId}`` tells the feed's status;
  ``includeDetails=true`` with ``offset``/``limit`` pages its items. A PROCESSED feed can still hold failed
  items, so the items are always read.
- Catalogue: ``GET /v3/items`` paged by ``nextCursor`` (``*`` first), for flows that update listed SKUs only.
- Money never passes through ``float``: bodies are written with each ``Decimal`` digit for digit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from connectors.common import jsonwire
from connectors.common.errors import RateLimited, RetryableError, ServerError, TransportError
from connectors.common.http import Params, decode_json
from connectors.walmart.client import WalmartClient
from connectors.walmart.errors import classify

ITEMS_PATH = "/v3/items"
ITEMS_PAGE = 200  # §3: page with nextCursor; do not rely on a large limit
INVENTORY_PATH = "/v3/inventory"
PRICE_PATH = "/v3/price"
FEEDS_PATH = "/v3/feeds"
INVENTORY_FEED, PRICE_FEED = "inventory", "price"
INVENTORY_FEED_VERSION = "1.4"
PRICE_FEED_VERSION = "1.7"
MAX_FEED_ITEMS = 10_000  # §4, §6: up to 10,000 items per feed
FEED_DETAIL_PAGE = 1_000
FEED_DONE = frozenset({"PROCESSED", "ERROR"})
UNIT = "EACH"
# A write Walmart throttles for longer than this is not waited for: it fails (retryable) and the next
# scheduled run sends it, rather than one run sleeping out an hourly feed allotment (§1, §10).
LONGEST_THROTTLE_WAIT = 120.0

FeedType = Literal["inventory", "price"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InventoryUpdate(_Model):
    """Set a SKU's available quantity (whole units, never negative)."""

    sku: str = Field(min_length=1)
    quantity: int = Field(ge=0)


class PriceUpdate(_Model):
    """Set a SKU's BASE price."""

    sku: str = Field(min_length=1)
    amount: Decimal
    currency: str = "USD"

    @field_validator("amount")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
            raise ValueError(f"price {value} must be > 0 with at most 2 decimals")
        return value


class FeedStatus(_Model):
    """Where a feed stands (``feedStatus`` RECEIVED, INPROGRESS, PROCESSED or ERROR) and its counts."""

    feed_id: str
    status: str
    received: int = 0
    succeeded: int = 0
    failed: int = 0
    processing: int = 0
    errors: list[str] = Field(default_factory=list)  # file-level ingestion errors

    @property
    def done(self) -> bool:
        return self.status in FEED_DONE


class FeedItem(_Model):
    """One item of a feed: ``ingestionStatus`` SUCCESS, DATA_ERROR, SYSTEM_ERROR, TIMEOUT_ERROR or INPROGRESS."""

    sku: str
    index: int | None = None
    status: str
    errors: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"


class WalmartItems:
    """Inventory and prices of one seller, over a `WalmartClient` (its token, pacing and retries)."""

    def __init__(self, client: WalmartClient) -> None:
        self.client = client

    # -- catalogue ----------------------------------------------------------------------------------
    def iter_listed_skus(self, page: int = ITEMS_PAGE) -> Iterator[str]:
        """The SKUs of the seller's catalogue, retired items left out (``GET /v3/items``, ``nextCursor`` paging)."""
        cursor: str | None = "*"
        while cursor:
            reply = self.client.request_json("GET", ITEMS_PATH, params={"nextCursor": cursor, "limit": page})
            body = reply if isinstance(reply, Mapping) else {}
            rows = [r for r in body.get("ItemResponse") or [] if isinstance(r, Mapping)]
            yield from (str(r["sku"]) for r in rows if r.get("sku") and r.get("lifecycleStatus") != "RETIRED")
            cursor = body.get("nextCursor") if rows else None

    # -- single calls -------------------------------------------------------------------------------
    def get_inventory(self, sku: str, ship_node: str | None = None) -> int | None:
        """The SKU's quantity at the default (or given) ship node."""
        reply = self.client.request_json("GET", INVENTORY_PATH, params={"sku": sku, "shipNode": ship_node},
                                         record=sku)
        amount = ((reply or {}).get("quantity") or {}).get("amount") if isinstance(reply, Mapping) else None
        return None if amount is None else int(amount)

    def set_inventory(self, update: InventoryUpdate, ship_node: str | None = None) -> Any:
        return send(self.client, "PUT", INVENTORY_PATH, params={"sku": update.sku, "shipNode": ship_node},
                    body=inventory_entry(update), record=update.sku)

    def set_price(self, update: PriceUpdate) -> Any:
        return send(self.client, "PUT", PRICE_PATH, body=price_entry(update), record=update.sku)

    # -- feeds --------------------------------------------------------------------------------------
    def submit_inventory_feed(self, updates: Iterable[InventoryUpdate], ship_node: str | None = None) -> str:
        doc = {"InventoryHeader": {"version": INVENTORY_FEED_VERSION},
               "Inventory": [inventory_entry(u) for u in updates]}
        return self._submit(INVENTORY_FEED, doc, "Inventory", ship_node)

    def submit_price_feed(self, updates: Iterable[PriceUpdate]) -> str:
        doc = {"PriceHeader": {"version": PRICE_FEED_VERSION}, "Price": [price_entry(u) for u in updates]}
        return self._submit(PRICE_FEED, doc, "Price", None)

    def _submit(self, feed_type: FeedType, doc: dict[str, Any], key: str, ship_node: str | None) -> str:
        if not 1 <= len(doc[key]) <= MAX_FEED_ITEMS:
            raise ValueError(f"a {feed_type} feed holds 1..{MAX_FEED_ITEMS} items, not {len(doc[key])}")
        files = {"file": (f"{feed_type}.json", encode_json(doc), "application/json")}
        reply = send(self.client, "POST", FEEDS_PATH, params={"feedType": feed_type, "shipNode": ship_node},
                     files=files)
        feed_id = reply.get("feedId") if isinstance(reply, Mapping) else None
        if not feed_id:
            raise ServerError("feed accepted without a feedId", system=self.client.system)
        return str(feed_id)

    def feed_status(self, feed_id: str) -> FeedStatus:
        reply = self.client.request_json("GET", _feed_path(feed_id), params={"includeDetails": "false"},
                                         record=feed_id)
        return _status(feed_id, reply if isinstance(reply, Mapping) else {})

    def feed_items(self, feed_id: str, page: int = FEED_DETAIL_PAGE) -> Iterator[FeedItem]:
        """Every item's ingestion status, page by page (``includeDetails=true``, ``offset``/``limit``)."""
        offset = 0
        while True:
            reply = self.client.request_json("GET", _feed_path(feed_id), record=feed_id,
                                             params={"includeDetails": "true", "offset": offset, "limit": page})
            rows = (((reply or {}).get("itemDetails") or {}).get("itemIngestionStatus") or []) if isinstance(
                reply, Mapping) else []
            yield from (_item(row) for row in rows if isinstance(row, Mapping))
            offset += len(rows)
            if len(rows) < page or offset >= int((reply or {}).get("itemsReceived") or 0):
                return

    def wait_for_feed(self, feed_id: str, *, timeout: float, interval: float = 10.0,
                      sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.monotonic) -> FeedStatus:
        """Poll the feed until it is PROCESSED or ERROR, or `timeout` seconds passed (then its last status)."""
        deadline = clock() + timeout
        while True:
            status = self.feed_status(feed_id)
            if status.done or clock() + interval > deadline:
                return status
            sleep(interval)


def inventory_entry(update: InventoryUpdate) -> dict[str, Any]:
    return {"sku": update.sku, "quantity": {"unit": UNIT, "amount": update.quantity}}


def price_entry(update: PriceUpdate) -> dict[str, Any]:
    return {"sku": update.sku, "pricing": [{"currentPriceType": "BASE",
                                            "currentPrice": {"currency": update.currency, "amount": update.amount}}]}


def _feed_path(feed_id: str) -> str:
    return f"{FEEDS_PATH}/{quote(feed_id, safe='')}"  # §4: the `@` goes as %40


def _status(feed_id: str, body: Mapping[str, Any]) -> FeedStatus:
    errors = ((body.get("ingestionErrors") or {}).get("ingestionError")) or []
    return FeedStatus(feed_id=str(body.get("feedId") or feed_id), status=str(body.get("feedStatus") or ""),
                      received=int(body.get("itemsReceived") or 0), succeeded=int(body.get("itemsSucceeded") or 0),
                      failed=int(body.get("itemsFailed") or 0), processing=int(body.get("itemsProcessing") or 0),
                      errors=[_error_text(e) for e in errors if isinstance(e, Mapping)])


def _item(row: Mapping[str, Any]) -> FeedItem:
    errors = ((row.get("ingestionErrors") or {}).get("ingestionError")) or []
    index = row.get("index")
    return FeedItem(sku=str(row.get("sku") or ""), index=None if index is None else int(index),
                    status=str(row.get("ingestionStatus") or ""),
                    errors=[_error_text(e) for e in errors if isinstance(e, Mapping)])


def _error_text(error: Mapping[str, Any]) -> str:
    words = [str(error.get(k) or "").strip() for k in ("code", "field", "description")]
    return ": ".join(w for w in words if w) or str(error.get("type") or "error")


# -- requests with exact bodies ---------------------------------------------------------------------

def send(client: WalmartClient, method: str, path: str, *, params: Params | None = None, body: Any = None,
         files: Mapping[str, tuple[str, bytes, str]] | None = None, record: str | None = None) -> Any:
    """One logical request (retried per the client's policy) whose JSON body keeps every Decimal exact."""
    return client.retryer(_worth_waiting)(_attempt, client, method, path, params, body, files, record)


def _worth_waiting(error: BaseException) -> bool:
    if isinstance(error, RateLimited):
        return error.retry_after <= LONGEST_THROTTLE_WAIT
    return isinstance(error, RetryableError)


def _attempt(client: WalmartClient, method: str, path: str, params: Params | None, body: Any,
             files: Mapping[str, tuple[str, bytes, str]] | None, record: str | None) -> Any:
    query = {k: v for k, v in (params or {}).items() if v is not None}
    content, headers = (None, None) if body is None else (encode_json(body), {"Content-Type": "application/json"})
    # The client's own primitive sends JSON through `float`-only encoding; this one sends our bytes.
    request = client._http.build_request(method, path, params=query, content=content, files=files, headers=headers)
    client.pacer.before_request(request)
    try:
        response = client._http.send(request)
    except httpx.TransportError as error:
        raise TransportError(f"{type(error).__name__} on {method} {path}", system=client.system,
                             request=f"{method} {path}") from None
    client.pacer.after_response(response)
    classify(response, secrets=client.auth.redaction_values(), record=record)
    return decode_json(response.content) if response.content else None


def encode_json(body: Any) -> bytes:
    """JSON text with each finite ``Decimal`` written as the number it holds (no float detour)."""
    return jsonwire.dumps(body)
