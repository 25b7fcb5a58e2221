"""Contract: ShipStationClient order writes (`createorder(s)`) and key lookups against the V1 simulator.

Over real HTTP on loopback. The simulator is the real API's double: upsert by `orderKey`, shipped and
cancelled orders locked (§2.3), no `orderKey` filter on `GET /orders` (§2.1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.common.errors import BadRequest
from connectors.shipstation.client import OrderLocked, ShipStationClient
from connectors.shipstation.ratelimit import RateLimiter
from sandbox.runner import ServedApp, serve
from sandbox.shipstation.app import create_app
from sandbox.shipstation.state import ShipStationState

KEY, SECRET = "writes-key", "writes-secret"
T0 = datetime(2025, 3, 1, 17, 0, tzinfo=UTC)


def body(number: str, key: str | None = None, *, quantity: int = 1, price: str = "12.50",
         status: str = "awaiting_shipment") -> dict[str, Any]:
    """A createorder body as an ERP push sends it (the docs' required fields and one line)."""
    order = {
        "orderNumber": number, "orderDate": "2025-03-01T09:00:00.0000000", "orderStatus": status,
        "customerUsername": "cust-1", "customerEmail": "a@example.com",
        "billTo": {"name": "Anita Rao"},
        "shipTo": {"name": "Anita Rao", "street1": "1 Main St", "city": "Pune", "postalCode": "411001",
                   "country": "IN"},
        "items": [{"lineItemKey": "1", "sku": "TEA-1", "name": "Tea", "quantity": quantity, "unitPrice": price,
                   "weight": {"value": 8, "units": "ounces"}}],
        "amountPaid": "12.50", "taxAmount": 0, "shippingAmount": 0,
    }
    return order | ({"orderKey": key} if key is not None else {})


class Sim:
    def __init__(self) -> None:
        ticks = iter(range(1, 1_000_000))
        self.state = ShipStationState(now=lambda: T0 + timedelta(seconds=next(ticks)))
        self.served: ServedApp = serve(create_app(self.state, credentials={KEY: SECRET}, rate_limit=0,
                                                  webhook_drop_rate=0.0))

    def client(self) -> ShipStationClient:
        limiter = RateLimiter(sleep=lambda s: None)
        return ShipStationClient(api_key=KEY, api_secret=SECRET, base_url=self.served.base_url,
                                 sleep=lambda s: None, rate_limiter=limiter, rng=lambda: 0.0)

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.served.base_url}/__sandbox/stats").json()

    def control(self, path: str, payload: Any) -> Any:
        reply = httpx.post(f"{self.served.base_url}/__sandbox/{path}", json=payload)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def orders_with_key(self, key: str) -> list[dict[str, Any]]:
        return [o for o in self.state.orders.values() if o["orderKey"] == key]


@pytest.fixture
def sim() -> Iterator[Sim]:
    started = Sim()
    yield started
    started.served.stop()


def test_resending_a_key_updates_the_same_order(sim: Sim) -> None:
    with sim.client() as client:
        first = client.create_order(body("SO-100", "acu-SO-100"))
        second = client.create_order(body("SO-100", "acu-SO-100", quantity=3))
    assert first["orderId"] == second["orderId"]
    stored = sim.orders_with_key("acu-SO-100")
    assert len(stored) == 1 and stored[0]["items"][0]["quantity"] == 3
    assert second["orderTotal"] == Decimal("37.5")


def test_a_body_without_order_key_is_refused_before_any_request(sim: Sim) -> None:
    with sim.client() as client, pytest.raises(ValueError, match="SO-1.*no orderKey"):
        client.create_order(body("SO-1"))
    assert sim.stats()["requests"] == 0 and not sim.state.orders


def test_a_shipped_order_is_locked_and_the_error_carries_shipstations_version(sim: Sim) -> None:
    with sim.client() as client:
        created = client.create_order(body("SO-7", "acu-SO-7"))
        sim.control("ship", {"orderId": created["orderId"], "items": None})
        with pytest.raises(OrderLocked) as caught:
            client.create_order(body("SO-7", "acu-SO-7", quantity=5))
    assert caught.value.order.order_status == "shipped"
    assert caught.value.order.items[0].quantity == 1
    assert "acu-SO-7" in str(caught.value) and caught.value.status == 400
    assert sim.orders_with_key("acu-SO-7")[0]["items"][0]["quantity"] == 1


def test_a_cancelled_order_is_locked_too(sim: Sim) -> None:
    with sim.client() as client:
        client.create_order(body("SO-8", "acu-SO-8", status="cancelled"))
        with pytest.raises(OrderLocked) as caught:
            client.create_order(body("SO-8", "acu-SO-8"))
    assert caught.value.order.order_status == "cancelled"


def test_other_refusals_name_the_key_and_are_not_locked(sim: Sim) -> None:
    bad = body("SO-9", "acu-SO-9")
    del bad["shipTo"]
    with sim.client() as client, pytest.raises(BadRequest) as caught:
        client.create_order(bad)
    assert not isinstance(caught.value, OrderLocked)
    assert "acu-SO-9" in str(caught.value)


def test_createorders_reports_each_row_and_failed_rows_name_their_key(sim: Sim) -> None:
    bad = body("SO-21", "acu-SO-21")
    bad["orderDate"] = None
    with sim.client() as client:
        client.create_order(body("SO-22", "acu-SO-22", status="shipped"))
        results = client.create_orders([body("SO-20", "acu-SO-20"), bad, body("SO-22", "acu-SO-22")])
    assert [(r.order_key, r.success, r.locked) for r in results] == [
        ("acu-SO-20", True, False), ("acu-SO-21", False, False), ("acu-SO-22", False, True)]
    assert results[0].order_id == sim.orders_with_key("acu-SO-20")[0]["orderId"]
    assert "orderDate" in (results[1].error_message or "")
    assert results[2].current_status == "shipped" and results[2].order_id == sim.orders_with_key("acu-SO-22")[0][
        "orderId"]


def test_createorders_sends_at_most_100_per_request(sim: Sim) -> None:
    bodies = [body(f"B-{n:03d}", f"acu-B-{n:03d}") for n in range(130)]
    with sim.client() as client:
        results = client.create_orders(bodies)
    assert all(r.success for r in results) and len({r.order_id for r in results}) == 130
    assert sim.stats()["by_path"]["/orders/createorders"] == 2


def test_find_by_key_compares_exactly_among_prefix_matches(sim: Sim) -> None:
    with sim.client() as client:
        for number in ("SO-1", "SO-10", "SO-11"):
            client.create_order(body(number, number))
        client.create_order(body("SO-1-copy", "other-key-for-SO-1"))
        found = client.find_orders_by_key("SO-1")
        by_number = client.find_orders_by_number("SO-1")
        elsewhere = client.find_orders_by_key("other-key-for-SO-1", order_number="SO-1-copy")
        none = client.find_orders_by_key("SO-2")
    assert [o.order_number for o in found] == ["SO-1"]
    assert [o.order_key for o in by_number] == ["SO-1"]
    assert [o.order_number for o in elsewhere] == ["SO-1-copy"]
    assert none == []


def test_a_createorder_refused_with_503_is_resent_and_makes_one_order(sim: Sim) -> None:
    sim.control("faults", {"status": 503, "count": 1})
    with sim.client() as client:
        client.create_order(body("SO-30", "acu-SO-30"))
    assert len(sim.orders_with_key("acu-SO-30")) == 1
    assert sim.stats()["by_status"] == {"503": 1, "200": 1}


def test_an_order_as_pyshipstation_sends_it(sim: Sim) -> None:
    """natecox/pyshipstation `ShipStationOrder.as_dict()`: every scalar stringified (`str(value)`), a naive
    `datetime.isoformat()` order date, items keyed `key`, `residential` as "True"; posted with
    `data=json.dumps(...)` and a content-type header. Our client must then find and update it."""
    sent = {
        "orderNumber": "PY-1", "orderDate": "2025-03-01T09:00:00.123456", "orderStatus": "awaiting_shipment",
        "orderKey": "py-key-1", "paymentDate": None, "customerUsername": "py-cust", "customerEmail": "p@example.com",
        "amountPaid": "25.00", "taxAmount": "0", "shippingAmount": "0", "customerNotes": None, "gift": None,
        "billTo": {"name": "P Y", "company": None, "street1": "1 St", "street2": None, "street3": None,
                   "city": "Pune", "state": "MH", "postalCode": "411001", "phone": None, "residential": "True"},
        "shipTo": {"name": "P Y", "company": None, "street1": "1 St", "street2": None, "street3": None,
                   "city": "Pune", "state": "MH", "postalCode": "411001", "phone": None, "residential": "True"},
        "items": [{"key": None, "sku": "TEA-1", "name": "Tea", "imageUrl": None, "quantity": "2",
                   "unitPrice": "12.50", "warehouseLocation": None, "options": None,
                   "weight": {"units": "ounces", "value": "8"}}],
        "weight": {"units": "ounces", "value": 16}, "dimensions": None, "internationalOptions": None,
    }
    raw = httpx.post(f"{sim.served.base_url}/orders/createorder", content=json.dumps(sent),
                     headers={"content-type": "application/json"}, auth=(KEY, SECRET))
    assert raw.status_code == 200, raw.text
    stored = raw.json()
    assert (stored["items"][0]["quantity"], stored["orderTotal"], stored["shipTo"]["residential"]) == (2, 25, True)
    with sim.client() as client:
        (found,) = client.find_orders_by_key("py-key-1", order_number="PY-1")
        again = client.create_order(body("PY-1", "py-key-1", quantity=4))
    assert found.order_total == Decimal("25") and found.ship_to is not None and found.ship_to.residential is True
    assert again["orderId"] == stored["orderId"] and again["orderTotal"] == Decimal("50")
