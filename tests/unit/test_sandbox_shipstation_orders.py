"""The V1 simulator's order locking and order lookups, over real HTTP (reference §2.1, §2.3)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from sandbox.shipstation import ShipStationState
from tests.unit.test_sandbox_shipstation import Clock, order_body, running


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 4, 3, 13, 0, tzinfo=UTC))


def ship(client: httpx.Client, order_id: int) -> dict:
    answer = httpx.post(f"{client.base_url}/__sandbox/ship", json={"orderId": order_id, "items": None})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_labelled_order_is_locked_until_its_last_label_is_voided(clock: Clock) -> None:
    state = ShipStationState(now=clock)
    with running(state, webhook_drop_rate=0.0) as client:
        created = client.post("/orders/createorder", json=order_body()).json()
        label = ship(client, created["orderId"])
        clock.tick(minutes=5)
        modified = client.get(f"/orders/{created['orderId']}").json()["modifyDate"]
        refused = client.post("/orders/createorder", json=order_body(taxAmount=9))
        assert refused.status_code == 400
        assert "shipped" in refused.json()["Message"] and str(created["orderId"]) in refused.json()["Message"]
        after = client.get(f"/orders/{created['orderId']}").json()
        assert (after["taxAmount"], after["modifyDate"], after["orderStatus"]) == (5, modified, "shipped")
        assert client.post("/shipments/voidlabel", json={"shipmentId": label["shipmentId"]}).json()["approved"]
        reopened = client.post("/orders/createorder", json=order_body(taxAmount=9))
        assert reopened.status_code == 200 and reopened.json()["taxAmount"] == 9
        assert reopened.json()["orderId"] == created["orderId"]


def test_fill_provider_orders_are_not_open_either(clock: Clock) -> None:
    state = ShipStationState(now=clock)
    with running(state) as client:
        created = client.post("/orders/createorder", json=order_body()).json()
    state.orders[created["orderId"]] = {**state.orders[created["orderId"]], "orderStatus": "pending_fulfillment"}
    with running(state) as client:
        answer = client.post("/orders/createorder", json=order_body())
        batch = client.post("/orders/createorders", json=[order_body()]).json()
    assert answer.status_code == 400 and "pending_fulfillment" in answer.json()["Message"]
    assert batch["results"][0]["success"] is False


def test_a_refused_update_fires_no_order_notify(clock: Clock) -> None:
    state = ShipStationState(now=clock)
    events: list = []
    state.listeners.append(events.append)
    with running(state) as client:
        client.post("/orders/createorder", json=order_body(orderStatus="cancelled"))
        fired = len(events)
        assert client.post("/orders/createorder", json=order_body()).status_code == 400
        assert client.post("/orders/createorders", json=[order_body()]).json()["hasErrors"] is True
    assert len(events) == fired


def test_get_orders_has_no_order_key_filter_and_order_number_is_a_prefix(clock: Clock) -> None:
    state = ShipStationState(now=clock)
    with running(state) as client:
        for number in ("SO-1", "SO-10", "so-11", "XSO-1"):
            client.post("/orders/createorder", json=order_body(f"key-{number}", orderNumber=number))
        ignored = client.get("/orders", params={"orderKey": "key-SO-10"}).json()
        prefix = client.get("/orders", params={"orderNumber": "SO-1"}).json()
    assert ignored["total"] == 4
    assert sorted(o["orderNumber"] for o in prefix["orders"]) == ["SO-1", "SO-10"]
