"""The V2 simulator's shipping surface over real HTTP: a linked V1 account's orders as shipments, its
labels, their tracking and its signed webhook, carriers, and the documented paging."""

from __future__ import annotations

import base64
import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from sandbox.merchant import Merchant, generate_merchant
from sandbox.runner import ServedApp
from sandbox.shipstation.app import create_app as v1_app
from sandbox.shipstation.state import ShipStationState
from sandbox.shipstation_v2 import ShipStationV2State, create_app
from tests.unit.test_sandbox_shipstation_v2 import public_key_from_jwks
from tests.unit.test_sandbox_webhooks import receiver

KEY = "v2-shipping-key"
V1_KEY, V1_SECRET = "v1-key", "v1-secret"


@pytest.fixture(scope="module")
def merchant() -> Merchant:
    return generate_merchant(seed=11, n_orders=60)


@dataclass
class Both:
    v1_state: ShipStationState
    v1: httpx.Client
    v2: httpx.Client
    v2_url: str

    def control(self, path: str, body: Any, *, v1: bool = False) -> Any:
        base = self.v1.base_url if v1 else self.v2_url
        answer = httpx.post(f"{base}/__sandbox{path}", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def walk(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Follow `links.next.href` from page 1; every row of every page."""
        key = path.rsplit("/", 1)[-1]
        rows, url, query = [], path, params
        while url:
            body = self.v2.get(url, params=query).json()
            rows += body[key]
            url, query = (body["links"]["next"] or {}).get("href"), None
        return rows


@pytest.fixture
def both(merchant: Merchant) -> Iterator[Both]:
    state = ShipStationState.from_merchant(merchant)
    v2_state = ShipStationV2State()
    v2_state.link_account(state)
    v1 = v1_app(state, credentials={V1_KEY: V1_SECRET}, rate_limit=0, webhook_drop_rate=0.0)
    v2 = create_app(v2_state, api_keys={KEY}, rate_limit=0, webhook_delay=(0.0, 0.1), webhook_drop_rate=0.0)
    with ServedApp(v1) as s1, ServedApp(v2) as s2, \
            httpx.Client(base_url=s1.base_url, auth=(V1_KEY, V1_SECRET), timeout=30) as c1, \
            httpx.Client(base_url=s2.base_url, headers={"API-Key": KEY}, timeout=30) as c2:
        yield Both(state, c1, c2, s2.base_url)


def active_orders(state: ShipStationState) -> list[dict[str, Any]]:
    return [o for o in state.orders.values() if state.is_active(o["orderId"])]


# -- shipments ---------------------------------------------------------------------------------------


def test_shipments_are_the_v1_orders_paged_as_documented(both: Both) -> None:
    first = both.v2.get("/v2/shipments", params={"page_size": 7}).json()
    orders = active_orders(both.v1_state)
    assert (first["total"], first["page"], first["pages"]) == (len(orders), 1, math.ceil(len(orders) / 7))
    assert first["links"]["prev"] == {} and first["links"]["next"]["href"].endswith("page=2")
    assert first["links"]["last"]["href"].endswith(f"page={first['pages']}")
    walked = both.walk("/v2/shipments", page_size=7, sort_dir="asc")
    assert Counter(s["shipment_id"] for s in walked) == Counter(f"se-{o['orderId']}" for o in orders)
    created = [s["created_at"] for s in walked]
    assert created == sorted(created)
    newest_first = both.v2.get("/v2/shipments", params={"page_size": 500}).json()["shipments"]
    assert [s["created_at"] for s in newest_first] == sorted(created, reverse=True)  # sort_dir defaults to desc
    past = both.v2.get("/v2/shipments", params={"page_size": 7, "page": first["pages"] + 1}).json()
    assert past["shipments"] == [] and past["total"] == len(orders)


def test_a_shipment_carries_the_orders_identity_money_and_lines(both: Both) -> None:
    order = next(o for o in active_orders(both.v1_state) if len(o["items"]) > 1)
    got = both.v2.get(f"/v2/shipments/se-{order['orderId']}").json()
    assert (got["external_shipment_id"], got["shipment_number"]) == (order["orderKey"], order["orderNumber"])
    assert got["amount_paid"]["currency"] == "inr"
    assert Decimal(str(got["amount_paid"]["amount"])) == order["amountPaid"]
    assert [(i["sku"], i["quantity"], i["external_order_item_id"]) for i in got["items"]] == [
        (line.get("sku"), line["quantity"], line.get("lineItemKey")) for line in order["items"]]
    assert datetime.fromisoformat(got["modified_at"].replace("Z", "+00:00")) == order["modifyDate"].replace(
        microsecond=order["modifyDate"].microsecond // 1000 * 1000)
    by_key = both.v2.get(f"/v2/shipments/external_shipment_id/{order['orderKey']}").json()
    assert by_key["shipment_id"] == got["shipment_id"]
    for path in ("/v2/shipments/se-1", "/v2/shipments/external_shipment_id/nope", "/v2/shipments/12"):
        answer = both.v2.get(path)
        assert answer.status_code == 404 and answer.json()["errors"][0]["error_code"] == "invalid_identifier"


def test_shipment_filters_match_the_v1_data(both: Both) -> None:
    orders = active_orders(both.v1_state)
    expected = Counter({"cancelled": "cancelled", "shipped": "label_purchased"}.get(o["orderStatus"], "pending")
                       for o in orders)
    for status, count in expected.items():
        assert both.v2.get("/v2/shipments", params={"shipment_status": status}).json()["total"] == count
    target = orders[len(orders) // 2]
    one = both.v2.get("/v2/shipments", params={"external_shipment_id": target["orderKey"]}).json()
    assert [s["shipment_id"] for s in one["shipments"]] == [f"se-{target['orderId']}"]
    number = both.v2.get("/v2/shipments", params={"shipment_number": target["orderNumber"][:-1]}).json()
    assert f"se-{target['orderId']}" not in [s["shipment_id"] for s in number["shipments"]]  # exact, not a prefix
    low = target["modifyDate"]
    window = {"modified_at_start": low.isoformat(), "modified_at_end": (low + timedelta(days=2)).isoformat(),
              "sort_by": "modified_at", "sort_dir": "asc", "page_size": 500}
    got = [s["shipment_id"] for s in both.v2.get("/v2/shipments", params=window).json()["shipments"]]
    assert got == [f"se-{o['orderId']}" for o in sorted(orders, key=lambda o: (o["modifyDate"], o["orderId"]))
                   if low <= o["modifyDate"] <= low + timedelta(days=2)]
    assert both.v2.get("/v2/shipments", params={"batch_id": "se-1"}).json()["total"] == 0


@pytest.mark.parametrize("params", [{"shipment_status": "shipped"}, {"modified_at_start": "2026-01-01T00:00:00"},
                                    {"page_size": 0}, {"sort_by": "order_date"}, {"sort_dir": "up"}, {"page": 0}])
def test_bad_list_parameters_are_refused(both: Both, params: dict[str, Any]) -> None:
    answer = both.v2.get("/v2/shipments", params=params)
    assert answer.status_code == 400 and answer.json()["errors"][0]["error_type"] == "validation"


def test_lists_need_the_api_key(both: Both) -> None:
    assert httpx.get(f"{both.v2_url}/v2/shipments").status_code == 401
    assert httpx.get(f"{both.v2_url}/v2/carriers", headers={"API-Key": "wrong"}).status_code == 401


def test_an_unlinked_v2_account_has_no_shipments_or_labels() -> None:
    with ServedApp(create_app(ShipStationV2State(), api_keys={KEY}, rate_limit=0)) as served:
        headers = {"API-Key": KEY}
        assert httpx.get(f"{served.base_url}/v2/shipments", headers=headers).json()["total"] == 0
        assert httpx.get(f"{served.base_url}/v2/labels/se-260000001/track", headers=headers).status_code == 404


# -- labels and tracking ----------------------------------------------------------------------------


def test_a_label_bought_through_v1_is_listed_and_trackable_through_v2(both: Both) -> None:
    order = next(o for o in active_orders(both.v1_state) if o["orderStatus"] == "awaiting_shipment")
    label = both.control("/ship", {"orderId": order["orderId"], "items": None}, v1=True)
    label_id = f"se-{label['shipmentId']}"
    listed = both.v2.get("/v2/labels", params={"shipment_id": f"se-{order['orderId']}"}).json()["labels"]
    assert [(x["label_id"], x["tracking_number"], x["status"]) for x in listed] == [
        (label_id, label["trackingNumber"], "completed")]
    assert Decimal(str(listed[0]["shipment_cost"]["amount"])) == Decimal(str(label["shipmentCost"]))
    assert both.v2.get(f"/v2/shipments/se-{order['orderId']}").json()["shipment_status"] == "label_purchased"
    track = both.v2.get(f"/v2/labels/{label_id}/track").json()
    assert (track["status_code"], track["events"], track["tracking_number"]) == ("NY", [], label["trackingNumber"])
    assert both.v1.post("/shipments/voidlabel", json={"shipmentId": label["shipmentId"]}).json()["approved"]
    assert both.v2.get(f"/v2/labels/{label_id}").json()["status"] == "voided"
    refused = httpx.post(f"{both.v2_url}/__sandbox/tracking/advance", json={"label_id": label_id})
    assert refused.status_code == 400


def test_tracking_advances_through_carrier_scans_newest_event_first(both: Both) -> None:
    labels = [s for s in both.v1_state.shipments.records.values() if not s.get("voided")]
    label_id = f"se-{labels[0]['shipmentId']}"
    codes = [both.control("/tracking/advance", {"label_id": label_id})["tracking"][0]["status_code"]
             for _ in range(3)]
    assert codes == ["AC", "IT", "DE"]
    track = both.v2.get(f"/v2/labels/{label_id}/track").json()
    assert [e["status_code"] for e in track["events"]] == ["DE", "IT", "AC"]
    assert track["actual_delivery_date"] == track["events"][0]["occurred_at"]
    assert track["status_description"] == "Delivered" and track["status_detail_code"] == "DELIVERED"
    assert both.v2.get(f"/v2/labels/{label_id}").json()["tracking_status"] == "delivered"
    by_number = both.control("/tracking/advance", {"tracking_number": labels[1]["trackingNumber"],
                                                   "status_code": "EX", "description": "Address not found"})
    assert by_number["tracking"][0]["exception_description"] == "Address not found"
    delivered = both.v2.get("/v2/labels", params={"page_size": 500}).json()["labels"]
    assert Counter(x["tracking_status"] for x in delivered)["error"] == 1
    assert httpx.post(f"{both.v2_url}/__sandbox/tracking/advance",
                      json={"label_id": label_id, "status_code": "ZZ"}).status_code == 400
    assert both.v2.get("/v2/labels/se-1/track").status_code == 404


def test_label_filters_and_paging(both: Both) -> None:
    labels = list(both.v1_state.shipments.records.values())
    walked = both.walk("/v2/labels", page_size=4, sort_dir="asc")
    assert [x["label_id"] for x in walked] == [f"se-{s['shipmentId']}" for s in
                                               sorted(labels, key=lambda s: (s["createDate"], s["shipmentId"]))]
    voided = both.v2.get("/v2/labels", params={"label_status": "voided"}).json()["total"]
    assert voided == sum(1 for s in labels if s.get("voided"))
    one = labels[0]
    got = both.v2.get("/v2/labels", params={"tracking_number": one["trackingNumber"]}).json()["labels"]
    assert [x["label_id"] for x in got] == [f"se-{one['shipmentId']}"]


# -- the tracking webhook ----------------------------------------------------------------------------


def test_tracking_webhook_is_signed_and_carries_the_new_status(both: Both) -> None:
    label = next(s for s in both.v1_state.shipments.records.values() if not s.get("voided"))
    label_id = f"se-{label['shipmentId']}"
    with receiver() as hooks:
        made = both.v2.post("/v2/environment/webhooks", json={
            "event": "track_event_v2", "url": hooks.url("/ok/track"),
            "headers": [{"key": "x-our-secret", "value": "s3cret"}]}).json()
        assert made["event"] == "track_event_v2" and made["webhook_id"].startswith("se-")
        both.control("/tracking/advance", {"label_id": label_id})
        both.control("/webhooks/flush", {})
        (call,) = hooks.wait(1)
    payload = json.loads(call.body)
    assert payload["resource_type"] == "TRACK_EVENT_V2"
    assert payload["resource_url"] == f"{both.v2_url}/v2/labels/{label_id}/track"
    assert (payload["data"]["status_code"], payload["data"]["tracking_number"]) == ("AC", label["trackingNumber"])
    assert call.headers["x-our-secret"] == "s3cret"
    stamp = call.headers["x-shipengine-timestamp"]
    assert abs(datetime.fromisoformat(stamp.replace("Z", "+00:00")) - datetime.now(UTC)) < timedelta(minutes=5)
    key = public_key_from_jwks(httpx.get(f"{both.v2_url}/jwks").json(), call.headers["x-shipengine-rsa-sha256-key-id"])
    key.verify(base64.b64decode(call.headers["x-shipengine-rsa-sha256-signature"]), f"{stamp}.".encode() + call.body,
               padding.PKCS1v15(), hashes.SHA256())


def test_webhook_subscriptions_are_managed_as_documented(both: Both) -> None:
    made = both.v2.post("/v2/environment/webhooks", json={"event": "track", "url": "https://example.com/a"})
    assert made.status_code == 200
    hook_id = made.json()["webhook_id"]
    again = both.v2.post("/v2/environment/webhooks", json={"event": "track", "url": "https://example.com/b"})
    assert again.status_code == 409
    bad = both.v2.post("/v2/environment/webhooks", json={"event": "SHIP_NOTIFY", "url": "https://example.com/a"})
    assert bad.status_code == 400
    assert both.v2.get("/v2/environment/webhooks").json() == [made.json()]
    assert both.v2.put(f"/v2/environment/webhooks/{hook_id}", json={"url": "https://example.com/c"}).status_code == 204
    assert both.v2.get(f"/v2/environment/webhooks/{hook_id}").json()["url"] == "https://example.com/c"
    assert both.v2.delete(f"/v2/environment/webhooks/{hook_id}").status_code == 204
    assert both.v2.get(f"/v2/environment/webhooks/{hook_id}").status_code == 404


# -- carriers ----------------------------------------------------------------------------------------


def test_carriers_offer_every_service_the_labels_use(both: Both) -> None:
    body = both.v2.get("/v2/carriers").json()
    assert body["errors"] == []
    offered = {(c["carrier_code"], s["service_code"]) for c in body["carriers"] for s in c["services"]}
    used = {(s["carrierCode"], s["serviceCode"]) for s in both.v1_state.shipments.records.values()}
    assert used and used <= offered
    carrier = body["carriers"][0]
    services = both.v2.get(f"/v2/carriers/{carrier['carrier_id']}/services").json()["services"]
    assert services == carrier["services"]
    assert both.v2.get("/v2/carriers/se-999").status_code == 404


def test_a_merchants_history_can_be_delivered_in_one_step(both: Both) -> None:
    labels = list(both.v1_state.shipments.records.values())
    newest = max(s["createDate"] for s in labels)
    done = both.control("/tracking/advance", {"created_before": newest.isoformat(), "status_code": "DE"})["tracking"]
    older_active = [s for s in labels if s["createDate"] < newest and not s.get("voided")]
    assert sorted(t["tracking_number"] for t in done) == sorted(s["trackingNumber"] for s in older_active)
    listed = {x["tracking_number"]: x["tracking_status"] for x in both.walk("/v2/labels", page_size=100)}
    assert all(listed[s["trackingNumber"]] == "delivered" for s in older_active)
    assert all(listed[s["trackingNumber"]] == "unknown" for s in labels if s not in older_active)
    naive = httpx.post(f"{both.v2_url}/__sandbox/tracking/advance", json={"created_before": "2026-01-01T00:00:00"})
    assert naive.status_code == 400
