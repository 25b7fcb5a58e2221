"""Bulk inventory and price feeds, processed asynchronously (reference §4–§6).

`POST /v3/feeds?feedType=inventory|MP_INVENTORY|price` answers `{"feedId": "...@..."}` at once; the
feed is RECEIVED, then INPROGRESS after `received_for` seconds of the sandbox clock, then PROCESSED
after `processing_for` more, when its items are applied one by one. A PROCESSED feed can hold failed
items (DATA_ERROR with `ingestionErrors`); a file that does not parse ends as feedStatus ERROR with no
items. At most 10,000 items per feed (more: ERROR). Assumed item error codes are `ERR_EXT_DATA_*`.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.walmart.catalog import ItemProblem
from sandbox.walmart.clock import epoch_ms

Record = dict[str, Any]
FEED_TYPES = ("inventory", "MP_INVENTORY", "price")
MAX_ITEMS = 10_000
# Parsed item: (index, sku, payload for the applier); an applier returns nothing or raises ItemProblem.
Applier = Callable[[str, Record], None]


@dataclass
class ItemResult:
    index: int
    sku: str
    status: str = "INPROGRESS"
    errors: list[Record] = field(default_factory=list)

    def view(self) -> Record:
        """One `itemDetails.itemIngestionStatus[]` entry."""
        entry: Record = {"martId": 0, "sku": self.sku, "index": self.index, "ingestionStatus": self.status}
        entry["ingestionErrors"] = {"ingestionError": self.errors or None}
        return entry


@dataclass
class Feed:
    feed_id: str
    feed_type: str
    received: datetime
    ship_node: str | None
    entries: list[Record]
    file_error: str | None = None
    status: str = "RECEIVED"
    results: list[ItemResult] = field(default_factory=list)
    modified: datetime | None = None

    def counts(self) -> Record:
        done = self.status in ("PROCESSED", "ERROR")
        ok = sum(r.status == "SUCCESS" for r in self.results)
        return {"itemsReceived": len(self.entries), "itemsSucceeded": ok if done else 0,
                "itemsFailed": len(self.results) - ok if done else 0,
                "itemsProcessing": 0 if done else len(self.entries)}

    def summary(self) -> Record:
        """The `results.feed[]` entry of `GET /v3/feeds`."""
        return {"feedId": self.feed_id, "feedSource": "MARKETPLACE_PARTNER", "feedType": self.feed_type,
                "partnerId": "10001234567", **self.counts(), "feedStatus": self.status,
                "feedDate": epoch_ms(self.received), "modifiedDtm": epoch_ms(self.modified or self.received),
                "itemDataErrorCount": sum(r.status == "DATA_ERROR" for r in self.results),
                "itemSystemErrorCount": sum(r.status == "SYSTEM_ERROR" for r in self.results),
                "itemTimeoutErrorCount": 0}

    def detail(self, include: bool, offset: int, limit: int) -> Record:
        """`GET /v3/feeds/{feedId}`: counts, and the item statuses from `offset` when `include`."""
        errors = [{"type": "DATA_ERROR", "code": "ERR_EXT_DATA_0000001", "description": self.file_error}]
        body: Record = {"feedId": self.feed_id, "feedStatus": self.status, "shipNode": self.ship_node,
                        "ingestionErrors": {"ingestionError": errors if self.file_error else None},
                        **self.counts(), "offset": offset, "limit": limit}
        if include:
            rows = self.results or [ItemResult(i, str(e.get("sku", ""))) for i, e in enumerate(self.entries)]
            body["itemDetails"] = {"itemIngestionStatus": [r.view() for r in rows[offset: offset + limit]]}
        return body


def new_feed_id() -> str:
    """`<32 hex>@<7 chars>`, the shape of the examples (the `@` must be sent as %40 in paths)."""
    return f"{uuid.uuid4().hex.upper()}@AQYBAgA"


def parse_file(feed_type: str, raw: bytes, ship_node: str | None) -> tuple[list[Record], str | None]:
    """The feed's items as `{"sku", "quantity"|"pricing", "shipNode"}` dicts, or a file error."""
    try:
        doc = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return [], "[sandbox] the feed file is not valid JSON"
    shapes = {"inventory": ("InventoryHeader", "Inventory"), "MP_INVENTORY": ("inventoryHeader", "inventory"),
              "price": ("PriceHeader", "Price")}
    header, key = shapes[feed_type]
    if not isinstance(doc, dict) or not isinstance(doc.get(header), dict) or not isinstance(doc.get(key), list):
        return [], f"[sandbox] a {feed_type} feed needs {header} and a {key} list"
    rows = [row if isinstance(row, dict) else {} for row in doc[key]]
    if len(rows) > MAX_ITEMS:
        return [], f"[sandbox] a feed holds at most {MAX_ITEMS} items, this one {len(rows)}"
    if feed_type == "MP_INVENTORY":
        return [{"sku": r.get("sku"), "shipNodes": r.get("shipNodes")} for r in rows], None
    return [{**r, "shipNode": ship_node} for r in rows], None


class Feeds:
    """Every feed the seller submitted, and the timeline that moves them on."""

    def __init__(self, received_for: float = 1.0, processing_for: float = 2.0) -> None:
        self.received_for, self.processing_for = received_for, processing_for
        self.feeds: dict[str, Feed] = {}
        self.fail_skus: dict[str, str] = {}  # sku -> SYSTEM_ERROR etc., set by the control plane
        self._lock = threading.RLock()

    def submit(self, feed_type: str, raw: bytes, ship_node: str | None, now: datetime) -> Feed:
        entries, error = parse_file(feed_type, raw, ship_node)
        feed = Feed(new_feed_id(), feed_type, now, ship_node, entries, error)
        with self._lock:
            self.feeds[feed.feed_id] = feed
        return feed

    def settle(self, now: datetime, appliers: dict[str, Applier], *, finish_all: bool = False) -> int:
        """Move every feed along its timeline up to `now` (or finish them all); how many finished."""
        finished = 0
        with self._lock:
            for feed in self.feeds.values():
                if feed.status in ("PROCESSED", "ERROR"):
                    continue
                started = feed.received + timedelta(seconds=self.received_for)
                if finish_all or now >= started + timedelta(seconds=self.processing_for):
                    self._process(feed, appliers[feed.feed_type], now)
                    finished += 1
                elif now >= started:
                    feed.status, feed.modified = "INPROGRESS", started
        return finished

    def _process(self, feed: Feed, apply: Applier, now: datetime) -> None:
        feed.modified = now
        if feed.file_error:
            feed.status = "ERROR"
            return
        for index, entry in enumerate(feed.entries):
            result = ItemResult(index, str(entry.get("sku") or ""))
            forced = self.fail_skus.get(result.sku)
            try:
                if forced:
                    raise ItemProblem("ERR_INT_SYS_0000001", "sku", "[sandbox] internal error, please retry")
                apply(result.sku, entry)
                result.status = "SUCCESS"
            except ItemProblem as problem:
                result.status = forced or "DATA_ERROR"
                result.errors = [problem.ingestion_error(result.status)]
            feed.results.append(result)
        feed.status = "PROCESSED"

    def listing(self, feed_id: str | None, offset: int, limit: int) -> Record:
        """`GET /v3/feeds`: newest first."""
        with self._lock:
            rows = sorted(self.feeds.values(), key=lambda f: f.received, reverse=True)
        if feed_id:
            rows = [f for f in rows if f.feed_id == feed_id]
        return {"totalResults": len(rows), "offset": offset, "limit": limit,
                "results": {"feed": [f.summary() for f in rows[offset: offset + limit]]}}
