"""Walmart inventory, prices and feeds against hand-built replies that follow the reference (§4–§6)."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import ValidationError

from connectors.common.errors import RateLimited
from connectors.walmart.errors import WalmartRequestError
from connectors.walmart.items import FeedItem, InventoryUpdate, PriceUpdate, WalmartItems
from tests.unit.fakes import FakeClock
from tests.unit.test_walmart_fakes import FakeWalmart, _errors, client_for, json_response

FEED_ID = "1A2B3C4D5E6F@AQYBAgA"


def file_part(request: httpx.Request) -> tuple[str, bytes]:
    """The `file` part of a multipart/form-data body: (its content type, its bytes)."""
    boundary = request.headers["content-type"].split("boundary=")[1].encode()
    for part in request.content.split(b"--" + boundary):
        head, _, body = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            kind = next(line.split(b":")[1].strip() for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-type"))
            return kind.decode(), body.rstrip(b"\r\n")
    raise AssertionError("no part named 'file'")


class ItemsWalmart(FakeWalmart):
    """Inventory, price and feed endpoints; SKUs in `refused` are unknown to Walmart."""

    def __init__(self, refused: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refused = refused or {}
        self.bodies: list[bytes] = []
        self.feeds: dict[str, dict[str, Any]] = {}
        self.polls = 0

    def _route(self, request: httpx.Request) -> httpx.Response:
        path, query = request.url.path, {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        if path in ("/v3/inventory", "/v3/price") and request.method == "PUT":
            self.bodies.append(request.content)
            body = json.loads(request.content, parse_float=Decimal)
            if body["sku"] in self.refused:
                return _errors(400, "INVALID_REQUEST_CONTENT", "sku", self.refused[body["sku"]])
            return json_response(200, body)
        if path == "/v3/inventory":
            return json_response(200, {"sku": query["sku"], "quantity": {"unit": "EACH", "amount": 7}})
        if path == "/v3/feeds" and request.method == "POST":
            kind, content = file_part(request)
            self.feeds[FEED_ID] = {"type": query["feedType"], "kind": kind, "raw": content,
                                   "doc": json.loads(content, parse_float=Decimal)}
            return json_response(200, {"feedId": FEED_ID})
        if path == f"/v3/feeds/{FEED_ID}":
            return json_response(200, self._feed(request, query))
        return super()._route(request)

    def _feed(self, request: httpx.Request, query: dict[str, str]) -> dict[str, Any]:
        assert b"%40" in request.url.raw_path  # §4: the @ of a feed id is sent URL-encoded
        feed = self.feeds[FEED_ID]
        rows = feed["doc"].get("Inventory") or feed["doc"].get("Price")
        self.polls += query.get("includeDetails") != "true"
        status = "PROCESSED" if self.polls >= 3 else ("INPROGRESS" if self.polls == 2 else "RECEIVED")
        body: dict[str, Any] = {"feedId": FEED_ID, "feedStatus": status, "itemsReceived": len(rows),
                                "itemsSucceeded": sum(r["sku"] not in self.refused for r in rows),
                                "itemsFailed": sum(r["sku"] in self.refused for r in rows), "itemsProcessing": 0}
        if query.get("includeDetails") == "true":
            start, limit = int(query["offset"]), int(query["limit"])
            body["itemDetails"] = {"itemIngestionStatus": [self._item(i, r) for i, r in
                                                           enumerate(rows) if start <= i < start + limit]}
        return body

    def _item(self, index: int, row: dict[str, Any]) -> dict[str, Any]:
        refused = self.refused.get(row["sku"])
        errors = [{"type": "DATA_ERROR", "code": "ERR_EXT_DATA_0101001", "field": "sku",
                   "description": refused}] if refused else None
        status = "DATA_ERROR" if refused else "SUCCESS"
        return {"martId": 0, "sku": row["sku"], "index": index, "ingestionStatus": status,
                "ingestionErrors": {"ingestionError": errors}}


def items_for(server: ItemsWalmart, clock: FakeClock | None = None) -> WalmartItems:
    return WalmartItems(client_for(server, clock))


def test_inventory_single_call_sends_the_sku_and_a_whole_quantity() -> None:
    server = ItemsWalmart()
    items_for(server).set_inventory(InventoryUpdate(sku="SKU-1", quantity=12), ship_node="NODE-9")
    request = server.requests[-1]
    assert request.method == "PUT" and request.url.path == "/v3/inventory"
    assert parse_qs(request.url.query.decode()) == {"sku": ["SKU-1"], "shipNode": ["NODE-9"]}
    assert json.loads(request.content) == {"sku": "SKU-1", "quantity": {"unit": "EACH", "amount": 12}}
    assert request.headers["WM_SEC.ACCESS_TOKEN"] and request.headers["content-type"] == "application/json"


def test_get_inventory_reads_the_amount() -> None:
    assert items_for(ItemsWalmart()).get_inventory("SKU-1") == 7


def test_price_single_call_keeps_the_decimal_exact() -> None:
    server = ItemsWalmart()
    items_for(server).set_price(PriceUpdate(sku="SKU-1", amount=Decimal("19.90")))
    assert server.bodies[-1] == (b'{"sku":"SKU-1","pricing":[{"currentPriceType":"BASE",'
                                 b'"currentPrice":{"currency":"USD","amount":19.90}}]}')


def test_a_refused_sku_names_itself_and_carries_walmarts_message() -> None:
    server = ItemsWalmart(refused={"GONE": "Item not found for SKU GONE"})
    with pytest.raises(WalmartRequestError) as caught:
        items_for(server).set_price(PriceUpdate(sku="GONE", amount=Decimal("5.00")))
    assert caught.value.record == "GONE" and "Item not found for SKU GONE" in str(caught.value)
    assert len(server.requests) == 1  # a 400 is not retried


def test_inventory_feed_is_multipart_with_a_file_part_in_the_14_shape() -> None:
    server = ItemsWalmart()
    feed_id = items_for(server).submit_inventory_feed([InventoryUpdate(sku="A", quantity=3),
                                                       InventoryUpdate(sku="B", quantity=0)])
    request, feed = server.requests[-1], server.feeds[FEED_ID]
    assert feed_id == FEED_ID and request.headers["content-type"].startswith("multipart/form-data")
    assert parse_qs(request.url.query.decode()) == {"feedType": ["inventory"]}
    assert feed["kind"] == "application/json" and feed["doc"] == {
        "InventoryHeader": {"version": "1.4"},
        "Inventory": [{"sku": "A", "quantity": {"unit": "EACH", "amount": 3}},
                      {"sku": "B", "quantity": {"unit": "EACH", "amount": 0}}]}


def test_price_feed_writes_amounts_digit_for_digit() -> None:
    server = ItemsWalmart()
    items_for(server).submit_price_feed([PriceUpdate(sku="A", amount=Decimal("1600.10"))])
    feed = server.feeds[FEED_ID]
    assert feed["type"] == "price" and feed["doc"]["PriceHeader"] == {"version": "1.7"}
    assert b'"amount":1600.10' in feed["raw"]


def test_feed_status_is_polled_until_processed() -> None:
    server, clock = ItemsWalmart(), FakeClock()
    items = items_for(server, clock)
    feed_id = items.submit_inventory_feed([InventoryUpdate(sku="A", quantity=1)])
    status = items.wait_for_feed(feed_id, timeout=600, interval=5, sleep=clock.sleep, clock=clock)
    assert status.done and status.status == "PROCESSED" and server.polls == 3


def test_feed_wait_gives_up_at_the_timeout_with_the_last_status() -> None:
    server, clock = ItemsWalmart(), FakeClock()
    items = items_for(server, clock)
    feed_id = items.submit_inventory_feed([InventoryUpdate(sku="A", quantity=1)])
    status = items.wait_for_feed(feed_id, timeout=4, interval=5, sleep=clock.sleep, clock=clock)
    assert not status.done and status.status == "RECEIVED"


def test_item_level_errors_are_read_page_by_page() -> None:
    server = ItemsWalmart(refused={"SKU-0003": "SKU SKU-0003 is not set up", "SKU-0007": "price too low"})
    items = items_for(server)
    feed_id = items.submit_price_feed([PriceUpdate(sku=f"SKU-{n:04d}", amount=Decimal("2.00")) for n in range(9)])
    found = list(items.feed_items(feed_id, page=4))
    assert [i.sku for i in found] == [f"SKU-{n:04d}" for n in range(9)]
    failed = {i.sku: i.errors for i in found if not i.ok}
    assert failed == {"SKU-0003": ["ERR_EXT_DATA_0101001: sku: SKU SKU-0003 is not set up"],
                      "SKU-0007": ["ERR_EXT_DATA_0101001: sku: price too low"]}
    offsets = [parse_qs(r.url.query.decode()).get("offset") for r in server.requests if "feeds/" in r.url.path]
    assert offsets == [["0"], ["4"], ["8"]]
    assert FeedItem(sku="x", status="SUCCESS").ok


@pytest.mark.parametrize("amount", ["0", "-1.00", "1.005", "NaN"])
def test_a_price_walmart_would_refuse_is_refused_here(amount: str) -> None:
    with pytest.raises(ValidationError):
        PriceUpdate(sku="A", amount=Decimal(amount))


def test_a_negative_quantity_is_refused() -> None:
    with pytest.raises(ValidationError):
        InventoryUpdate(sku="A", quantity=-1)


def throttled(seconds: float) -> httpx.Response:
    replenish = str(int((time.time() + seconds) * 1000))
    return httpx.Response(429, json={"errors": [{"code": "REQUEST_THRESHOLD_VIOLATED", "description": "Too many"}]},
                          headers={"x-current-token-count": "0", "x-next-replenish-time": replenish})


def test_a_short_throttle_is_waited_out() -> None:
    server, clock = ItemsWalmart(), FakeClock()
    server.script.append(throttled(5))
    assert items_for(server, clock).submit_inventory_feed([InventoryUpdate(sku="A", quantity=1)]) == FEED_ID
    assert len(server.requests) == 2 and sum(clock.sleeps) >= 4


def test_a_long_throttle_fails_the_write_for_the_next_run() -> None:
    server, clock = ItemsWalmart(), FakeClock()
    server.script.append(throttled(3000))  # e.g. the hourly feed allotment is spent
    with pytest.raises(RateLimited):
        items_for(server, clock).submit_price_feed([PriceUpdate(sku="A", amount=Decimal("1.00"))])
    assert len(server.requests) == 1 and sum(clock.sleeps) < 1
