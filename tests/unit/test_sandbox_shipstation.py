"""The ShipStation V1 simulator, over real HTTP on loopback."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox.merchant import generate_merchant
from sandbox.runner import ServedApp
from sandbox.shipstation import ShipStationState, create_app

KEY, SECRET = "ShipStation", "Rocks"
CREDENTIALS = {KEY: SECRET, "second-key": "second-secret"}
TICKS7 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}")
MILLIS3 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}")


class Clock:
    """A settable `now` for ShipStationState."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def tick(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


@contextmanager
def running(state: ShipStationState, **options: Any) -> Iterator[httpx.Client]:
    app = create_app(state, credentials=CREDENTIALS, **options)
    with ServedApp(app) as served, httpx.Client(base_url=served.base_url, auth=(KEY, SECRET), timeout=10) as client:
        yield client


def order_body(key: str | None = "erp-SO-1", **changes: Any) -> dict[str, Any]:
    """The docs' example order: 2 × 99.99 − 20.55 + 10 + 5 = 194.43."""
    body: dict[str, Any] = {
        "orderNumber": "SO-1", "orderKey": key, "orderDate": "2026-03-01 10:15:00",
        "orderStatus": "awaiting_shipment", "customerUsername": "erp-cust-1", "customerEmail": "a@example.com",
        "billTo": {"name": "Anita Rao"},
        "shipTo": {"name": "Anita Rao", "street1": "742 Cedar Ave", "city": "Fremont", "state": "CA",
                   "postalCode": "94538", "country": "US"},
        "items": [{"lineItemKey": "1", "sku": "ABC123", "name": "Test item #1", "quantity": 2, "unitPrice": 99.99},
                  {"lineItemKey": "PROMO", "sku": "DISCOUNT CODE", "name": "10% OFF", "quantity": 1,
                   "unitPrice": -20.55, "adjustment": True}],
        "shippingAmount": 10, "taxAmount": 5, "amountPaid": 218.73, "someFutureField": {"x": 1},
    }
    body.update(changes)
    return body


@pytest.fixture(scope="module")
def merchant():
    return generate_merchant(seed=7)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 4, 3, 13, 0, tzinfo=UTC))


def test_auth_is_rejected_without_or_with_wrong_credentials(merchant) -> None:
    state = ShipStationState.from_merchant(merchant)
    with running(state) as client:
        base = str(client.base_url)
        assert httpx.get(f"{base}/orders").status_code == 401
        assert httpx.get(f"{base}/orders", auth=(KEY, "wrong")).status_code == 401
        assert httpx.get(f"{base}/orders", auth=("nobody", SECRET)).status_code == 401
        assert httpx.get(f"{base}/orders", headers={"Authorization": "Basic !!notbase64"}).status_code == 401
        assert httpx.get(f"{base}/orders", headers={"Authorization": f"Bearer {SECRET}"}).status_code == 401
        refused = httpx.get(f"{base}/orders")
        assert refused.text == "401 Unauthorized"
        assert "X-Rate-Limit-Remaining" not in refused.headers
        assert httpx.get(f"{base}/orders", auth=("second-key", "second-secret")).status_code == 200
        assert client.get("/orders").status_code == 200
        stats = httpx.get(f"{base}/__sandbox/stats").json()
    assert stats["by_status"] == {"401": 6, "200": 2}
    assert stats["requests"] == 8 and stats["by_path"] == {"/orders": 8}


def test_paging_envelope_and_pages(merchant) -> None:
    state = ShipStationState.from_merchant(merchant)
    with running(state) as client:
        first = client.get("/orders").json()
        assert (first["total"], first["page"], first["pages"], len(first["orders"])) == (200, 1, 2, 100)
        seen = []
        for page in range(1, 8):
            body = client.get("/orders", params={"page": page, "pageSize": 30}).json()
            assert (body["total"], body["page"], body["pages"]) == (200, page, 7)
            seen += [o["orderId"] for o in body["orders"]]
        assert len(body["orders"]) == 20
        assert seen == sorted(o["orderId"] for o in merchant.orders)
        past_end = client.get("/orders", params={"page": 8, "pageSize": 30}).json()
        assert past_end == {"orders": [], "total": 200, "page": 8, "pages": 7}
        clamped = client.get("/orders", params={"pageSize": 1000}).json()
        assert (len(clamped["orders"]), clamped["pages"]) == (200, 1)
        assert client.get("/orders", params={"pageSize": 0}).status_code == 400
        bad = client.get("/orders", params={"page": "abc"})
        assert bad.status_code == 400 and "page" in bad.json()["ModelState"]


def test_sort_and_filters(merchant) -> None:
    state = ShipStationState.from_merchant(merchant)
    with running(state) as client:
        newest = client.get("/orders", params={"sortBy": "ModifyDate", "sortDir": "DESC", "pageSize": 500}).json()
        stamps = [o["modifyDate"] for o in newest["orders"]]
        assert stamps == sorted(stamps, reverse=True)
        prefix = client.get("/orders", params={"orderNumber": "WC-10001"}).json()["orders"]
        assert prefix and all(o["orderNumber"].startswith("WC-10001") for o in prefix)
        held = client.get("/orders", params={"orderStatus": "on_hold", "pageSize": 500}).json()
        assert held["total"] == sum(o["orderStatus"] == "on_hold" for o in merchant.orders)
        ram = client.get("/orders", params={"customerName": "ram & shyam"}).json()["orders"]
        assert merchant.special["awkward_customer"] in {o["orderNumber"] for o in ram}
        kahwa = client.get("/orders", params={"itemKeyword": merchant.unknown_sku}).json()["orders"]
        assert [o["orderNumber"] for o in kahwa] == [merchant.special["unknown_sku"]]
        assert client.get("/orders", params={"orderStatus": "lost"}).status_code == 400
        assert client.get("/orders", params={"sortBy": "Total"}).status_code == 400


def test_modify_date_filter_speaks_pacific_time_across_dst(clock: Clock) -> None:
    state = ShipStationState(now=clock)
    clock.at = datetime(2026, 3, 7, 20, 0, tzinfo=UTC)  # 12:00 PST (UTC-8), before the DST switch
    state.upsert_order(order_body("winter"))
    clock.at = datetime(2026, 3, 9, 19, 0, tzinfo=UTC)  # 12:00 PDT (UTC-7), after it
    state.upsert_order(order_body("summer"))

    def keys(**window: str) -> list[str]:
        orders = client.get("/orders", params={"sortBy": "ModifyDate", **window}).json()["orders"]
        return [o["orderKey"] for o in orders]

    with running(state) as client:
        assert keys(modifyDateStart="2026-03-07 12:00:00", modifyDateEnd="2026-03-07 12:00:00") == ["winter"]
        assert keys(modifyDateStart="2026-03-09 12:00:00", modifyDateEnd="2026-03-09 12:00:00") == ["summer"]
        assert keys(modifyDateStart="2026-03-07 11:00:00", modifyDateEnd="2026-03-09 11:59:59") == ["winter"]
        assert keys(modifyDateStart="2026-03-09 19:00:00") == []  # UTC wall time sent as if Pacific
        assert keys(modifyDateStart="2026-03-08", modifyDateEnd="2026-03-09T12:00:00") == ["summer"]
        stamps = [o["modifyDate"] for o in client.get("/orders", params={"sortBy": "ModifyDate"}).json()["orders"]]
        assert stamps == ["2026-03-07T12:00:00.0000000", "2026-03-09T12:00:00.0000000"]
        for malformed in ("2026-03-09T19:00:00Z", "2026-03-09 12:00:00+05:30", "yesterday", "2026-13-01"):
            answer = client.get("/orders", params={"modifyDateStart": malformed})
            assert answer.status_code == 400, malformed
            assert answer.json()["ModelState"] == {"modifyDateStart": [f"The value '{malformed}' is not valid "
                                                                      "for modifyDateStart."]}


def test_dates_are_naive_pacific_with_docs_precision(merchant) -> None:
    state = ShipStationState.from_merchant(merchant)
    with running(state) as client:
        order = client.get("/orders", params={"orderNumber": merchant.special["fy_boundary"]}).json()["orders"][0]
        assert order["orderDate"] == "2026-03-31T20:30:00.0000000"
        for field in ("createDate", "modifyDate"):
            assert TICKS7.fullmatch(order[field])
        assert all(MILLIS3.fullmatch(line["createDate"]) for line in order["items"])
        shipped = client.post("/orders/createorder", json=order_body(
            "shipped-1", orderStatus="shipped", shipDate="2026-03-02", paymentDate="2026-03-01T10:15:00.1234567"))
        assert shipped.json()["shipDate"] == "2026-03-02"
        assert shipped.json()["paymentDate"] == "2026-03-01T10:15:00.1234560"
        product = client.get("/products", params={"pageSize": 1}).json()["products"][0]
        assert MILLIS3.fullmatch(product["createDate"])
        customer = client.get("/customers", params={"pageSize": 1}).json()["customers"][0]
        assert TICKS7.fullmatch(customer["createDate"])


def test_rate_limit_counts_down_then_429_exactly_past_the_limit(merchant) -> None:
    state = ShipStationState.from_merchant(merchant)
    with running(state, rate_limit=3, window_seconds=1.5) as client:
        answers = [client.get("/stores") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["X-Rate-Limit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert {a.headers["X-Rate-Limit-Limit"] for a in answers} == {"3"}
        assert all(0 <= int(a.headers["X-Rate-Limit-Reset"]) <= 2 for a in answers)
        assert answers[3].json() == {"message": "Too Many Requests"}
        other = httpx.get(f"{client.base_url}/stores", auth=("second-key", "second-secret"))
        assert (other.status_code, other.headers["X-Rate-Limit-Remaining"]) == (200, "2")
        time.sleep(int(answers[3].headers["X-Rate-Limit-Reset"]) + 0.05)
        again = client.get("/stores")
        assert (again.status_code, again.headers["X-Rate-Limit-Remaining"]) == (200, "2")
        stats = httpx.get(f"{client.base_url}/__sandbox/stats").json()
    assert stats["throttled"] == 1 and stats["requests"] == 6


def test_createorder_upserts_by_order_key(clock: Clock) -> None:
    state = ShipStationState(now=clock)
    with running(state) as client:
        created = client.post("/orders/createorder", json=order_body()).json()
        assert created["orderTotal"] == 194.43 and created["amountPaid"] == 218.73
        assert created["createDate"] == created["modifyDate"] == "2026-04-03T06:00:00.0000000"
        assert "someFutureField" not in created
        assert created["advancedOptions"]["storeId"] == 310001
        clock.tick(hours=2)
        items = order_body()["items"]
        items[0]["quantity"] = 3
        updated = client.post("/orders/createorder", json=order_body(items=items, taxAmount=7.5)).json()
        assert updated["orderId"] == created["orderId"]
        assert updated["orderTotal"] == 296.92  # 3 × 99.99 − 20.55 + 10 + 7.5, exactly
        assert (updated["createDate"], updated["modifyDate"]) == (created["createDate"], "2026-04-03T08:00:00.0000000")
        assert updated["items"][0]["orderItemId"] == created["items"][0]["orderItemId"]
        assert client.get(f"/orders/{created['orderId']}").json()["items"][0]["quantity"] == 3
        first = client.post("/orders/createorder", json=order_body(key=None)).json()
        second = client.post("/orders/createorder", json=order_body(key=None)).json()
        assert first["orderId"] != second["orderId"] and first["orderKey"] != second["orderKey"]
        assert client.get("/orders").json()["total"] == 3
        customers = client.get("/customers").json()["customers"]
        assert [c["marketplaceUsernames"][0]["username"] for c in customers] == ["erp-cust-1"]
        assert created["customerId"] == customers[0]["customerId"]


@pytest.mark.parametrize("field", ["orderNumber", "orderDate", "orderStatus", "billTo", "shipTo"])
def test_createorder_names_the_missing_required_field(field: str) -> None:
    body = order_body()
    del body[field]
    with running(ShipStationState()) as client:
        answer = client.post("/orders/createorder", json=body)
    assert answer.status_code == 400
    assert answer.json()["ModelState"] == {f"apiOrder.{field}": [f"The {field} field is required."]}


@pytest.mark.parametrize("locked", ["shipped", "cancelled"])
def test_shipped_and_cancelled_orders_are_locked(locked: str) -> None:
    state = ShipStationState()
    with running(state) as client:
        original = client.post("/orders/createorder", json=order_body(orderStatus=locked)).json()
        answer = client.post("/orders/createorder", json=order_body(orderStatus="awaiting_shipment"))
        assert answer.status_code == 400 and locked in answer.json()["Message"]
        assert client.get(f"/orders/{original['orderId']}").json()["orderStatus"] == locked
        batch = client.post("/orders/createorders", json=[order_body(), order_body("fresh", orderNumber="SO-2")])
        assert batch.json()["hasErrors"] is True
        rows = batch.json()["results"]
        assert [(r["success"], r["orderKey"]) for r in rows] == [(False, "erp-SO-1"), (True, "fresh")]
        assert rows[0]["orderId"] == 0 and locked in rows[0]["errorMessage"]


def test_createorders_reports_per_row_and_caps_at_100() -> None:
    with running(ShipStationState()) as client:
        bad = order_body("bad")
        del bad["billTo"]
        result = client.post("/orders/createorders", json=[order_body("a"), bad, order_body("b")]).json()
        assert result["hasErrors"] is True
        assert [r["success"] for r in result["results"]] == [True, False, True]
        assert "apiOrders[1].billTo" in result["results"][1]["errorMessage"]
        too_many = client.post("/orders/createorders", json=[order_body(f"k{n}") for n in range(101)])
        assert too_many.status_code == 400
        assert client.get("/orders").json()["total"] == 2


def test_money_is_a_json_number_without_float_noise(clock: Clock) -> None:
    state = ShipStationState(now=clock)
    with running(state) as client:
        items = [{"lineItemKey": "1", "sku": "X", "name": "x", "quantity": 3, "unitPrice": 0.1}]
        raw = client.post("/orders/createorder", json=order_body(items=items, shippingAmount=0.2, taxAmount=0)).text
    assert '"unitPrice":0.1,' in raw and '"orderTotal":0.5,' in raw
    assert state.orders[state.order_id_for_key("erp-SO-1")]["orderTotal"] == Decimal("0.50")


def test_advance_applies_edits_and_cancellations_with_fresh_modify_date(merchant, clock: Clock) -> None:
    state = ShipStationState.from_merchant(merchant, now=clock)
    batch = merchant.later_changes[0]
    with running(state) as client:
        applied = httpx.post(f"{client.base_url}/__sandbox/advance").json()
        assert applied["batch"] == 1 and len(applied["applied"]) == len(batch)
        assert applied["remaining_batches"] == len(merchant.later_changes) - 1
        stamp = "2026-04-03T06:00:00.0000000"
        changed = client.get("/orders", params={"modifyDateStart": "2026-04-03 06:00:00"}).json()["orders"]
        assert sorted(o["orderId"] for o in changed) == sorted(c["orderId"] for c in batch)
        for change in batch:
            order = client.get(f"/orders/{change['orderId']}").json()
            assert order["modifyDate"] == stamp
            if change["kind"] == "cancel":
                assert order["orderStatus"] == "cancelled"
                continue
            line = next(x for x in order["items"] if x["lineItemKey"] == change["lineItemKey"])
            assert (line["quantity"], Decimal(str(line["unitPrice"]))) == (change["quantity"], change["unitPrice"])
            lines = sum(Decimal(str(x["unitPrice"])) * x["quantity"] for x in order["items"])
            expected = lines + Decimal(str(order["shippingAmount"])) + change["taxAmount"]
            assert Decimal(str(order["orderTotal"])) == expected
    assert {c["kind"] for c in batch} == {"edit_line", "cancel"}
    assert merchant.order(batch[0]["orderNumber"])["modifyDate"] < clock.at  # the merchant is not mutated


def test_faults_are_injected_for_the_next_requests(merchant) -> None:
    state = ShipStationState.from_merchant(merchant)
    with running(state) as client:
        control = f"{client.base_url}/__sandbox"
        assert httpx.post(f"{control}/faults", json={"status": 503, "count": 2}).status_code == 200
        assert httpx.post(f"{control}/faults", json={"status": 500, "count": 1}).status_code == 200
        answers = [client.get("/orders", params={"pageSize": 1}) for _ in range(4)]
        assert [a.status_code for a in answers] == [503, 503, 500, 200]
        assert answers[2].json() == {"Message": "An error has occurred."}
        assert "X-Rate-Limit-Remaining" in answers[0].headers
        assert httpx.post(f"{control}/faults", json={"status": 404}).status_code == 400
        assert httpx.get(f"{control}/stats").json()["by_status"] == {"503": 2, "500": 1, "200": 1}
        httpx.post(f"{control}/reset-stats")
        assert httpx.get(f"{control}/stats").json()["requests"] == 0


def test_soft_delete_hides_order_from_lists(merchant) -> None:
    state = ShipStationState.from_merchant(merchant)
    victim = merchant.orders[0]["orderId"]
    with running(state) as client:
        deleted = client.delete(f"/orders/{victim}")
        assert deleted.json() == {"success": True, "message": "The requested order has been deleted."}
        listed = client.get("/orders", params={"pageSize": 500}).json()
        assert listed["total"] == 199 and victim not in {o["orderId"] for o in listed["orders"]}
        assert client.get(f"/orders/{victim}").status_code == 200
        assert client.get("/orders/1").status_code == 404
        assert client.get("/orders/not-a-number").status_code == 404


def test_products_customers_stores_and_warehouses(merchant) -> None:
    state = ShipStationState.from_merchant(merchant)
    with running(state) as client:
        active = client.get("/products", params={"pageSize": 500}).json()
        everything = client.get("/products", params={"pageSize": 500, "showInactive": "true"}).json()
        assert everything["total"] == len(merchant.products) > active["total"]
        by_sku = client.get("/products", params={"sortBy": "SKU", "sortDir": "DESC"}).json()["products"]
        skus = [p["sku"] for p in by_sku]
        assert skus == sorted(skus, reverse=True)
        tea = client.get("/products", params={"sku": "TEA-", "pageSize": 500}).json()["products"]
        assert tea and all(p["sku"].startswith("TEA-") for p in tea)
        one = client.get(f"/products/{tea[0]['productId']}").json()
        assert one["sku"] == tea[0]["sku"] and isinstance(one["price"], int | float)
        by_name = client.get("/customers", params={"sortBy": "Name", "pageSize": 500}).json()["customers"]
        names = [c["name"] for c in by_name]
        assert names == sorted(names, key=str.casefold) and "राम कुमार" in names
        maharashtra = client.get("/customers", params={"stateCode": "MH", "pageSize": 500}).json()["customers"]
        assert maharashtra and {c["state"] for c in maharashtra} == {"MH"}
        assert client.get("/customers/1").status_code == 404
        stores, warehouses = client.get("/stores").json(), client.get("/warehouses").json()
    assert isinstance(stores, list) and {s["storeId"] for s in stores} == {310001, 310002}
    assert isinstance(warehouses, list) and warehouses[0]["warehouseName"] == "Main Location"
