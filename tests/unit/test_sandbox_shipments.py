"""The ShipStation V1 simulator's shipments (labels), over real HTTP on loopback (reference §3.1, §6.4, §6.5)."""

from __future__ import annotations

import base64
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from sandbox.merchant import Merchant, generate_merchant
from sandbox.shipstation import ShipStationState
from tests.unit.test_sandbox_shipstation import TICKS7, Clock, order_body, running

DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
LABEL = {"carrierCode": "fedex", "serviceCode": "fedex_ground", "shipDate": "2026-04-03"}


@pytest.fixture(scope="module")
def merchant() -> Merchant:
    return generate_merchant(seed=7)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 4, 3, 13, 0, tzinfo=UTC))


def everything(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    body = client.get("/shipments", params={"pageSize": 500, **params})
    assert body.status_code == 200, body.text
    return body.json()["shipments"]


def ids(rows: list[dict[str, Any]]) -> list[int]:
    return [row["shipmentId"] for row in rows]


def control(client: httpx.Client, path: str, body: Any = None) -> httpx.Response:
    return httpx.post(f"{client.base_url}/__sandbox{path}", json=body, timeout=10)


def test_generated_labels_are_listed_oldest_first_without_items_by_default(merchant: Merchant) -> None:
    with running(ShipStationState.from_merchant(merchant)) as client:
        rows = everything(client)
        with_items = everything(client, includeShipmentItems="TRUE")
    by_id = {s["shipmentId"]: s for s in merchant.shipments}
    assert ids(rows) == [s["shipmentId"] for s in sorted(merchant.shipments, key=lambda s: s["createDate"])]
    assert len(rows) == len(merchant.shipments) > 20
    assert all(row["shipmentItems"] is None and row["labelData"] is None for row in rows)
    assert all(TICKS7.fullmatch(row["createDate"]) and DATE_ONLY.fullmatch(row["shipDate"]) for row in rows)
    voided = [row for row in rows if row["voided"]]
    assert voided and all(TICKS7.fullmatch(row["voidDate"]) for row in voided)
    assert all(row["voidDate"] is None for row in rows if not row["voided"])
    for row in with_items:
        stored = by_id[row["shipmentId"]]
        assert [(i["lineItemKey"], i["quantity"]) for i in row["shipmentItems"]] == [
            (i["lineItemKey"], i["quantity"]) for i in stored["shipmentItems"]]
        assert row["shipmentCost"] == float(stored["shipmentCost"]) and row["orderKey"] == stored["orderKey"]
        assert row["advancedOptions"]["storeId"] == stored["advancedOptions"]["storeId"]
        assert not any(i["adjustment"] for i in row["shipmentItems"])


def test_paging_envelope(merchant: Merchant) -> None:
    total = len(merchant.shipments)
    with running(ShipStationState.from_merchant(merchant)) as client:
        seen = []
        pages = -(-total // 7)
        for page in range(1, pages + 1):
            body = client.get("/shipments", params={"page": page, "pageSize": 7}).json()
            assert (body["total"], body["page"], body["pages"]) == (total, page, pages)
            seen += ids(body["shipments"])
        past = client.get("/shipments", params={"page": pages + 1, "pageSize": 7}).json()
        clamped = client.get("/shipments", params={"pageSize": 1000}).json()
        assert client.get("/shipments", params={"pageSize": 0}).status_code == 400
    assert seen == ids(sorted(merchant.shipments, key=lambda s: s["createDate"]))
    assert past == {"shipments": [], "total": total, "page": pages + 1, "pages": pages}
    assert (len(clamped["shipments"]), clamped["pages"]) == (total, 1)


def test_every_filter(merchant: Merchant) -> None:
    labels = merchant.shipments
    some = labels[len(labels) // 2]
    name = some["shipTo"]["name"]
    with running(ShipStationState.from_merchant(merchant)) as client:
        def got(**params: Any) -> set[int]:
            return set(ids(everything(client, **params)))

        def want(check: Any) -> set[int]:
            return {s["shipmentId"] for s in labels if check(s)}

        assert got(recipientName=name.upper()[:6]) == want(lambda s: name.upper()[:6].casefold()
                                                            in s["shipTo"]["name"].casefold())
        assert got(recipientCountryCode="in") == want(lambda s: True)
        assert got(recipientCountryCode="US") == set()
        assert got(orderNumber="WC-1000") == want(lambda s: s["orderNumber"].startswith("WC-1000"))
        assert got(orderId=some["orderId"]) == want(lambda s: s["orderId"] == some["orderId"])
        assert got(carrierCode="UPS") == want(lambda s: s["carrierCode"] == "ups") != set()
        assert got(serviceCode="fedex_express_saver") == want(lambda s: s["carrierCode"] == "fedex") != set()
        assert got(trackingNumber=some["trackingNumber"]) == {some["shipmentId"]}
        assert got(trackingNumber=some["trackingNumber"][:-1]) == set()
        assert got(storeId=310001) == want(lambda s: s["advancedOptions"]["storeId"] == 310001) != set()
        assert got(storeID=310001) == got(storeId=310001)  # parameter names bind case-insensitively
        assert got(batchId=1) == set()  # generated labels belong to no creation batch
        assert client.get("/shipments", params={"orderId": "x"}).status_code == 400
        assert client.get("/shipments", params={"includeShipmentItems": "yes"}).status_code == 400
        assert client.get("/shipments", params={"sortBy": "Cost"}).status_code == 400
        by_ship = everything(client, sortBy="ShipDate", sortDir="DESC")
    assert [s["shipDate"] for s in by_ship] == sorted((s["shipDate"] for s in by_ship), reverse=True)


def test_create_and_ship_date_windows_are_pacific(merchant: Merchant) -> None:
    labels = sorted(merchant.shipments, key=lambda s: s["createDate"])
    low, high = labels[5]["createDate"], labels[-6]["createDate"]
    wall = "%Y-%m-%d %H:%M:%S"
    pacific = ZoneInfo("America/Los_Angeles")
    with running(ShipStationState.from_merchant(merchant)) as client:
        window = everything(client, createDateStart=low.astimezone(pacific).strftime(wall),
                            createDateEnd=high.astimezone(pacific).strftime(wall))
        day = labels[10]["shipDate"]
        on_day = everything(client, shipDateStart=day.isoformat(), shipDateEnd=f"{day.isoformat()} 00:00:00")
        bad = client.get("/shipments", params={"createDateStart": low.strftime(wall) + "Z"})
    expected = [s["shipmentId"] for s in labels if low.replace(microsecond=0) <= s["createDate"]
                and s["createDate"] <= high.replace(microsecond=0)]
    assert ids(window) == expected
    assert ids(on_day) == [s["shipmentId"] for s in labels if s["shipDate"] == day]
    assert bad.status_code == 400 and "createDateStart" in bad.json()["ModelState"]


def test_void_date_window_speaks_pacific_time(clock: Clock) -> None:
    state = ShipStationState(now=clock)
    keys = ("winter", "summer", "never")
    orders = [state.upsert_order(order_body(key, orderNumber=key)) for key in keys]
    labels = [state.create_label(order["orderId"]) for order in orders]
    clock.at = datetime(2026, 3, 7, 20, 0, tzinfo=UTC)  # 12:00 PST
    state.void_label(labels[0]["shipmentId"])
    clock.at = datetime(2026, 3, 9, 19, 0, tzinfo=UTC)  # 12:00 PDT
    state.void_label(labels[1]["shipmentId"])

    def voided(**window: str) -> list[str]:
        return [s["orderNumber"] for s in everything(client, **window)]

    with running(state) as client:
        assert voided(voidDateStart="2026-03-07 12:00:00", voidDateEnd="2026-03-07 12:00:00") == ["winter"]
        assert voided(voidDateStart="2026-03-09 12:00:00", voidDateEnd="2026-03-09 12:00:00") == ["summer"]
        assert voided(voidDateStart="2026-03-07") == ["winter", "summer"]
        assert voided(voidDateStart="2026-03-09 19:00:00") == []  # UTC wall time sent as if Pacific
        assert len(voided()) == 3  # voided labels stay listed
        stamps = [s["voidDate"] for s in everything(client, voidDateStart="2026-03-01")]
        offset = client.get("/shipments", params={"voidDateStart": "2026-03-09T19:00:00Z"})
    assert stamps == ["2026-03-07T12:00:00.0000000", "2026-03-09T12:00:00.0000000"]
    assert offset.status_code == 400


def test_createlabelfororder_labels_the_whole_order_and_ships_it(clock: Clock) -> None:
    state = ShipStationState(now=clock)
    with running(state) as client:
        order = client.post("/orders/createorder", json=order_body()).json()
        clock.tick(hours=1)
        answer = client.post("/orders/createlabelfororder", json={"orderId": order["orderId"], **LABEL,
                                                                  "confirmation": None, "testLabel": False})
        label = answer.json()
        shipped = client.get(f"/orders/{order['orderId']}").json()
        listed = everything(client, orderId=order["orderId"], includeShipmentItems="true")
    assert answer.status_code == 200
    assert base64.b64decode(label["labelData"]).startswith(b"%PDF")
    assert label["shipmentItems"] is None and label["formData"] is None
    assert (label["carrierCode"], label["serviceCode"], label["confirmation"]) == ("fedex", "fedex_ground", "none")
    assert label["createDate"] == "2026-04-03T07:00:00.0000000" and label["shipDate"] == "2026-04-03"
    assert (label["orderNumber"], label["orderKey"], label["voided"]) == ("SO-1", "erp-SO-1", False)
    assert label["shipTo"]["city"] == "Fremont" and label["weight"]["units"] == "ounces"
    assert (shipped["orderStatus"], shipped["shipDate"]) == ("shipped", "2026-04-03")
    assert shipped["modifyDate"] == label["createDate"] != order["modifyDate"]
    assert [row["shipmentId"] for row in listed] == [label["shipmentId"]]
    assert [(i["lineItemKey"], i["quantity"]) for i in listed[0]["shipmentItems"]] == [("1", 2)]  # no PROMO line
    assert listed[0]["labelData"] is None


@pytest.mark.parametrize("missing", ["orderId", "carrierCode", "serviceCode", "shipDate"])
def test_createlabelfororder_names_a_missing_field(missing: str) -> None:
    state = ShipStationState()
    order = state.upsert_order(order_body())
    body = {"orderId": order["orderId"], **LABEL}
    del body[missing]
    with running(state) as client:
        answer = client.post("/orders/createlabelfororder", json=body)
    assert answer.status_code == 400
    assert answer.json()["ModelState"] == {f"request.{missing}": [f"The {missing} field is required."]}
    assert len(state.shipments) == 0


def test_createlabelfororder_refuses_cancelled_unknown_and_deleted_orders() -> None:
    state = ShipStationState()
    cancelled = state.upsert_order(order_body("c", orderStatus="cancelled"))
    deleted = state.upsert_order(order_body("d"))
    state.delete_order(deleted["orderId"])
    with running(state) as client:
        refused = client.post("/orders/createlabelfororder", json={"orderId": cancelled["orderId"], **LABEL})
        unknown = client.post("/orders/createlabelfororder", json={"orderId": 1, **LABEL})
        gone = client.post("/orders/createlabelfororder", json={"orderId": deleted["orderId"], **LABEL})
        bad = client.post("/orders/createlabelfororder", json={"orderId": cancelled["orderId"], **LABEL,
                                                               "confirmation": "maybe"})
    assert refused.status_code == 400 and refused.json()["Message"].startswith("[sandbox]")
    assert "cancelled" in refused.json()["Message"]
    assert unknown.status_code == 404 and gone.status_code == 400 and bad.status_code == 400
    assert len(state.shipments) == 0 and state.orders[cancelled["orderId"]]["orderStatus"] == "cancelled"


def test_test_labels_are_answered_but_not_kept(clock: Clock) -> None:
    state = ShipStationState(now=clock)
    order = state.upsert_order(order_body())
    with running(state) as client:
        answer = client.post("/orders/createlabelfororder", json={"orderId": order["orderId"], **LABEL,
                                                                  "testLabel": True})
        assert answer.status_code == 200 and answer.json()["labelData"]
        assert everything(client) == []
    assert state.orders[order["orderId"]]["orderStatus"] == "awaiting_shipment"


def test_voidlabel_twice_and_the_order_goes_back_to_awaiting_shipment(clock: Clock) -> None:
    state = ShipStationState(now=clock)
    order = state.upsert_order(order_body())
    label = state.create_label(order["orderId"])
    clock.tick(hours=3)
    with running(state) as client:
        first = client.post("/shipments/voidlabel", json={"shipmentId": label["shipmentId"]})
        again = client.post("/shipments/voidlabel", json={"shipmentId": label["shipmentId"]})
        unknown = client.post("/shipments/voidlabel", json={"shipmentId": 42})
        missing = client.post("/shipments/voidlabel", json={})
        after = client.get(f"/orders/{order['orderId']}").json()
        [row] = everything(client)
    assert (first.status_code, first.json()) == (200, {"approved": True, "message": "Label voided successfully"})
    assert again.status_code == 200 and again.json()["approved"] is False
    assert again.json()["message"].startswith("[sandbox]")
    assert unknown.status_code == 404 and missing.status_code == 400
    assert (after["orderStatus"], after["shipDate"], after["modifyDate"]) == (
        "awaiting_shipment", None, "2026-04-03T09:00:00.0000000")
    assert (row["voided"], row["voidDate"]) == (True, "2026-04-03T09:00:00.0000000")


def test_split_labels_add_up_and_status_follows_the_active_labels(clock: Clock) -> None:
    state = ShipStationState(now=clock)
    items = [{"lineItemKey": "1", "sku": "A", "name": "a", "quantity": 3, "unitPrice": 10},
             {"lineItemKey": "2", "sku": "B", "name": "b", "quantity": 1, "unitPrice": 5}]
    order = state.upsert_order(order_body(items=items))
    stamps = []
    with running(state) as client:
        first = control(client, "/ship", {"orderId": order["orderId"], "items": [{"lineItemKey": "1", "quantity": 2}]})
        stamps.append(client.get(f"/orders/{order['orderId']}").json())
        clock.tick(hours=1)
        second = control(client, "/ship", {"orderId": order["orderId"], "items": [
            {"lineItemKey": "1", "quantity": 1}, {"lineItemKey": "2", "quantity": 1}]})
        stamps.append(client.get(f"/orders/{order['orderId']}").json())
        clock.tick(hours=1)
        client.post("/shipments/voidlabel", json={"shipmentId": first.json()["shipmentId"]})
        stamps.append(client.get(f"/orders/{order['orderId']}").json())
        clock.tick(hours=1)
        client.post("/shipments/voidlabel", json={"shipmentId": second.json()["shipmentId"]})
        stamps.append(client.get(f"/orders/{order['orderId']}").json())
        rows = everything(client, orderId=order["orderId"], includeShipmentItems="true")
    assert first.status_code == second.status_code == 200
    shipped: Counter[str] = Counter()
    for label in (first.json(), second.json()):
        shipped.update({i["lineItemKey"]: i["quantity"] for i in label["shipmentItems"]})
    assert shipped == {"1": 3, "2": 1}
    assert [o["orderStatus"] for o in stamps] == ["shipped", "shipped", "shipped", "awaiting_shipment"]
    assert [o["shipDate"] for o in stamps] == ["2026-04-03", "2026-04-03", "2026-04-03", None]
    assert [o["modifyDate"][11:13] for o in stamps] == ["06", "07", "08", "09"]  # every label and void
    assert [r["voided"] for r in rows] == [True, True]


def test_labels_may_over_ship_and_bad_lines_are_refused() -> None:
    state = ShipStationState()
    order = state.upsert_order(order_body())
    with running(state) as client:
        full = control(client, "/ship", {"orderId": order["orderId"], "items": None})
        again = control(client, "/ship", {"orderId": order["orderId"]})
        promo = control(client, "/ship", {"orderId": order["orderId"], "items": [{"lineItemKey": "PROMO",
                                                                                  "quantity": 1}]})
        zero = control(client, "/ship", {"orderId": order["orderId"], "items": [{"lineItemKey": "1", "quantity": 0}]})
        empty = control(client, "/ship", {"orderId": order["orderId"], "items": []})
        no_order = control(client, "/ship", {"items": None})
    assert full.status_code == again.status_code == 200
    assert sum(i["quantity"] for label in (full.json(), again.json()) for i in label["shipmentItems"]) == 4  # 2 ordered
    assert promo.status_code == zero.status_code == empty.status_code == no_order.status_code == 400
    assert "items[0].lineItemKey" in promo.json()["ModelState"]
    assert len(state.shipments) == 2


def test_shipped_orders_are_locked_until_their_label_is_voided(clock: Clock) -> None:
    state = ShipStationState(now=clock)
    order = state.upsert_order(order_body())
    label = state.create_label(order["orderId"])
    with running(state) as client:
        locked = client.post("/orders/createorder", json=order_body(taxAmount=6))
        client.post("/shipments/voidlabel", json={"shipmentId": label["shipmentId"]})
        edited = client.post("/orders/createorder", json=order_body(taxAmount=6))
    assert locked.status_code == 400 and "shipped" in locked.json()["Message"]
    assert edited.status_code == 200 and edited.json()["taxAmount"] == 6


def test_advance_buys_and_voids_labels_in_later_batches(merchant: Merchant, clock: Clock) -> None:
    state = ShipStationState.from_merchant(merchant, now=clock)
    with running(state) as client:
        advance = f"{client.base_url}/__sandbox/advance"
        first = httpx.post(advance).json()
        clock.tick(hours=1)
        second = httpx.post(advance).json()
        created = everything(client, createDateStart="2026-04-03 07:00:00", includeShipmentItems="true")
        voided = everything(client, voidDateStart="2026-04-03 07:00:00")
        [batch] = {row["batchNumber"] for row in created}
        in_batch = everything(client, batchId=batch, storeId=310002) + everything(client, batchId=batch, storeId=310001)
        orders = {o["orderId"]: o for o in client.get("/orders", params={"pageSize": 500}).json()["orders"]}
    assert {c["kind"] for c in first["applied"]} == {"edit_line", "cancel"}
    kinds = Counter(c["kind"] for c in second["applied"])
    assert kinds["ship"] >= 1 and kinds["void"] >= 1
    ships = [c for c in second["applied"] if c["kind"] == "ship"]
    assert sorted(ids(created)) == sorted(c["shipmentId"] for c in ships) == sorted(ids(in_batch))
    assert all(orders[c["orderId"]]["orderStatus"] == "shipped" for c in ships)
    voids = [c for c in second["applied"] if c["kind"] == "void"]
    assert sorted(ids(voided)) == sorted(c["shipmentId"] for c in voids)
    assert all(c["approved"] and orders[c["orderId"]]["orderStatus"] == "awaiting_shipment" for c in voids)
    assert all(c["modifyDate"] == "2026-04-03T07:00:00.0000000" for c in second["applied"])


def test_generated_special_orders_show_their_labels(merchant: Merchant) -> None:
    with running(ShipStationState.from_merchant(merchant)) as client:
        def labels(name: str) -> list[dict[str, Any]]:
            return everything(client, orderNumber=merchant.special[name], includeShipmentItems="true")

        def order(name: str) -> dict[str, Any]:
            return client.get("/orders", params={"orderNumber": merchant.special[name]}).json()["orders"][0]

        split, voided, replaced, over = (labels(n) for n in ("split_shipment", "voided_label", "replaced_label",
                                                              "over_shipment"))
        statuses = {n: order(n)["orderStatus"] for n in ("split_shipment", "voided_label", "replaced_label",
                                                          "over_shipment")}
        split_order, over_order = order("split_shipment"), order("over_shipment")
    assert len(split) >= 2 and not any(s["voided"] for s in split)
    ordered = {i["lineItemKey"]: i["quantity"] for i in split_order["items"] if not i["adjustment"]}
    sent: Counter[str] = Counter()
    for label in split:
        sent.update({i["lineItemKey"]: i["quantity"] for i in label["shipmentItems"]})
    assert dict(sent) == ordered
    assert [s["voided"] for s in voided] == [True]
    assert [s["voided"] for s in replaced] == [True, False]
    over_sent: Counter[str] = Counter()
    for label in over:
        over_sent.update({i["lineItemKey"]: i["quantity"] for i in label["shipmentItems"]})
    over_ordered = {i["lineItemKey"]: i["quantity"] for i in over_order["items"] if not i["adjustment"]}
    assert any(over_sent[key] > qty for key, qty in over_ordered.items())
    assert statuses == {"split_shipment": "shipped", "voided_label": "awaiting_shipment",
                        "replaced_label": "shipped", "over_shipment": "shipped"}


def test_control_shipments_lists_every_label(merchant: Merchant) -> None:
    with running(ShipStationState.from_merchant(merchant)) as client:
        listed = httpx.get(f"{client.base_url}/__sandbox/shipments").json()
        stats = httpx.get(f"{client.base_url}/__sandbox/stats").json()
    assert ids(listed) == ids(sorted(merchant.shipments, key=lambda s: s["createDate"]))
    assert all(isinstance(row["shipmentItems"], list) for row in listed)
    assert stats["requests"] == 0  # the control plane is not the API
    assert merchant.shipments[0]["createDate"] < merchant.start - timedelta(minutes=1)
