"""`WalmartItems` against the Walmart simulator over HTTP: single calls, refusals, feeds and their item errors."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from connectors.common.errors import FatalError
from connectors.walmart.client import WalmartClient
from connectors.walmart.errors import WalmartRequestError
from connectors.walmart.items import InventoryUpdate, PriceUpdate, WalmartItems
from sandbox.runner import ServedApp
from sandbox.walmart import WalmartState, create_app
from sandbox.walmart.catalog import Item
from sandbox.walmart.feeds import Feeds

CLIENT_ID, CLIENT_SECRET = "items-client", "items-secret"


@pytest.fixture()
def walmart() -> Iterator[tuple[WalmartItems, str]]:
    state = WalmartState(feeds=Feeds(received_for=0.05, processing_for=0.05))
    for n in range(5):
        state.items[f"A-{n}"] = Item(f"A-{n}", f"Item {n}", Decimal("9.99"), f"{n:014d}", f"WP{n}", "Tea", "Grocery")
    with ServedApp(create_app(state, credentials={CLIENT_ID: CLIENT_SECRET})) as served:
        client = WalmartClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, base_url=served.base_url)
        with client:
            yield WalmartItems(client), served.base_url


def control(url: str, path: str) -> dict:
    return httpx.get(f"{url}/__sandbox/{path}").json()


def test_single_calls_land(walmart: tuple[WalmartItems, str]) -> None:
    items, url = walmart
    items.set_inventory(InventoryUpdate(sku="A-1", quantity=42))
    items.set_price(PriceUpdate(sku="A-1", amount=Decimal("12.34")))
    assert sum(control(url, "inventory")["A-1"].values()) == 42 and items.get_inventory("A-1") == 42
    assert Decimal(str(control(url, "prices")["A-1"])) == Decimal("12.34")


def test_the_simulator_refuses_an_unlisted_sku_by_name(walmart: tuple[WalmartItems, str]) -> None:
    items, _ = walmart
    for send in (lambda: items.set_inventory(InventoryUpdate(sku="NOPE", quantity=1)),
                 lambda: items.set_price(PriceUpdate(sku="NOPE", amount=Decimal("1.00")))):
        with pytest.raises(FatalError) as caught:  # 404 CONTENT_NOT_FOUND: not retried, names the SKU
            send()
        assert str(caught.value).count("NOPE") >= 2  # our record name and Walmart's own message
    with pytest.raises(WalmartRequestError) as refused:  # a 400 carries the record and the field
        items.set_price(PriceUpdate(sku="A-1", amount=Decimal("1.00"), currency="INR"))
    assert refused.value.record == "A-1"


def test_feeds_process_and_report_each_item(walmart: tuple[WalmartItems, str]) -> None:
    items, url = walmart
    feed_id = items.submit_price_feed([PriceUpdate(sku="A-2", amount=Decimal("3.10")),
                                       PriceUpdate(sku="NOPE", amount=Decimal("1.00"))])
    status = items.wait_for_feed(feed_id, timeout=30, interval=0.05)
    assert status.done and status.status == "PROCESSED" and status.received == 2
    found = {i.sku: i for i in items.feed_items(feed_id)}
    assert found["A-2"].ok and not found["NOPE"].ok and found["NOPE"].status == "DATA_ERROR"
    assert any("NOPE" in e for e in found["NOPE"].errors)
    assert Decimal(str(control(url, "prices")["A-2"])) == Decimal("3.10")


def test_inventory_feed_sets_quantities(walmart: tuple[WalmartItems, str]) -> None:
    items, url = walmart
    feed_id = items.submit_inventory_feed([InventoryUpdate(sku=f"A-{n}", quantity=n * 3) for n in range(5)])
    assert items.wait_for_feed(feed_id, timeout=30, interval=0.05).status == "PROCESSED"
    assert all(i.ok for i in items.feed_items(feed_id, page=2))
    assert {sku: sum(nodes.values()) for sku, nodes in control(url, "inventory").items()} == {
        f"A-{n}": n * 3 for n in range(5)}


def test_the_catalogue_is_read_page_by_page(walmart: tuple[WalmartItems, str]) -> None:
    items, url = walmart
    assert list(items.iter_listed_skus(page=2)) == [f"A-{n}" for n in range(5)]
    assert httpx.get(f"{url}/__sandbox/stats").json()["by_endpoint"]["GET /v3/items"] == 3
