"""Contract: ShipStationV2Client's shipping reads against the V2 simulator linked to a V1 account.

Over real HTTP. Besides our client, the requests other public V2 clients send are replayed as they
send them (shipstation/mcp-shipstation-api `src/shipstation-client.js`: header `api-key`,
`GET /v2/shipments` with axios `params`, `GET /v2/labels/{id}/track`, `GET /v2/carriers/{id}/services`
and `/packages`), so the simulator is checked against more than our own habits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from connectors.common.errors import NotFound
from connectors.shipstation.v2 import ShipStationV2Client, default_pacer
from connectors.shipstation.v2_shipping import tracking_update
from sandbox.merchant import Merchant, generate_merchant
from sandbox.runner import ServedApp
from sandbox.shipstation.state import ShipStationState
from sandbox.shipstation_v2 import ShipStationV2State, create_app
from tests.contract.tap import Tap
from tests.unit.test_sandbox_webhooks import receiver

KEY = "v2-contract-key"


def millis(moment: datetime) -> datetime:
    """V2 timestamps carry milliseconds."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


@pytest.fixture(scope="module")
def merchant() -> Merchant:
    return generate_merchant(seed=5, n_orders=50)


@dataclass
class Linked:
    v1: ShipStationState
    url: str
    tap: Tap

    def client(self) -> ShipStationV2Client:
        sleep = lambda seconds: None  # noqa: E731
        return ShipStationV2Client(api_key=KEY, base_url=self.url, transport=self.tap, sleep=sleep,
                                   pacer=default_pacer(sleep=sleep), rng=lambda: 0.0)

    def scan(self, label_id: str, code: str | None = None) -> dict[str, Any]:
        body = {"label_id": label_id} | ({"status_code": code} if code else {})
        answer = httpx.post(f"{self.url}/__sandbox/tracking/advance", json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()["tracking"][0]

    def labels(self) -> list[dict[str, Any]]:
        return [s for s in self.v1.shipments.records.values() if not s.get("voided")]


@pytest.fixture
def linked(merchant: Merchant) -> Iterator[Linked]:
    v1 = ShipStationState.from_merchant(merchant)
    state = ShipStationV2State()
    state.link_account(v1)
    with ServedApp(create_app(state, api_keys={KEY}, rate_limit=0, webhook_drop_rate=0.0)) as served:
        yield Linked(v1, served.base_url, Tap())


def test_label_tracking_is_normalised_and_knows_the_first_scan(linked: Linked) -> None:
    label = linked.labels()[0]
    label_id = f"se-{label['shipmentId']}"
    with linked.client() as client:
        before = client.label_tracking(label_id)
        linked.scan(label_id)
        accepted = client.label_tracking(label_id)
        linked.scan(label_id, "IT")
        linked.scan(label_id, "EX")
        exception = client.label_tracking(label_id)
        with pytest.raises(NotFound):
            client.label_tracking("se-1")
    assert (before.status, before.carrier_has_parcel, before.tracking_number) == (
        "not_yet_in_system", False, label["trackingNumber"])
    assert (accepted.status, accepted.carrier_has_parcel) == ("accepted", True)
    assert accepted.events[0].occurred_at is not None and accepted.events[0].occurred_at.utcoffset() == timedelta(0)
    assert (exception.status, exception.carrier_has_parcel) == ("exception", True)  # the carrier scanned it before
    assert [e.status for e in exception.events] == ["exception", "in_transit", "accepted"]


def test_iter_shipments_walks_every_page_once_oldest_first(linked: Linked) -> None:
    orders = [o for o in linked.v1.orders.values() if linked.v1.is_active(o["orderId"])]
    with linked.client() as client:
        got = list(client.iter_shipments(page_size=9))
        shipped = list(client.iter_shipments(shipment_status="label_purchased", page_size=9))
        start = millis(sorted(o["modifyDate"] for o in orders)[len(orders) // 2])
        recent = list(client.iter_shipments(modified_at_start=start))
    assert Counter(s.shipment_id for s in got) == Counter(f"se-{o['orderId']}" for o in orders)
    assert [s.modified_at for s in got] == sorted(s.modified_at for s in got)
    assert {s.shipment_id for s in shipped} == {f"se-{o['orderId']}" for o in orders if o["orderStatus"] == "shipped"}
    assert sorted(s.shipment_id for s in recent) == sorted(
        f"se-{o['orderId']}" for o in orders if millis(o["modifyDate"]) >= start)
    one = got[0]
    order = linked.v1.orders[int(one.shipment_id[3:])]
    assert (one.external_shipment_id, one.shipment_number) == (order["orderKey"], order["orderNumber"])
    assert one.amount_paid is not None and one.amount_paid.amount == order["amountPaid"]
    assert isinstance(one.amount_paid.amount, Decimal) and one.amount_paid.currency == "INR"
    pages = [e for e in linked.tap.exchanges if e.path == "/v2/shipments"]
    assert len(pages) >= 50 // 9


def test_shipment_by_external_id_is_the_v1_order_key(linked: Linked) -> None:
    order = next(iter(linked.v1.orders.values()))
    with linked.client() as client:
        found = client.get_shipment_by_external_id(order["orderKey"])
        missing = client.get_shipment_by_external_id("no-such-key")
    assert found is not None and found.shipment_id == f"se-{order['orderId']}"
    assert missing is None


def test_labels_and_carriers(linked: Linked) -> None:
    with linked.client() as client:
        labels = list(client.iter_labels(page_size=5))
        voided = list(client.iter_labels(label_status="voided"))
        carriers = client.list_carriers()
        services = client.list_carrier_services(carriers[0].carrier_id)
    assert [x.label_id for x in labels] == [f"se-{s['shipmentId']}" for s in sorted(
        linked.v1.shipments.records.values(), key=lambda s: (s["createDate"], s["shipmentId"]))]
    assert {x.label_id for x in voided} == {f"se-{s['shipmentId']}" for s in linked.v1.shipments.records.values()
                                            if s.get("voided")}
    codes = {(c.carrier_code, s.service_code) for c in carriers for s in c.services}
    assert {(x.carrier_code, x.service_code) for x in labels} <= codes
    assert [s.service_code for s in services] == [s.service_code for s in carriers[0].services]


def test_requests_as_another_public_client_sends_them(linked: Linked) -> None:
    """mcp-shipstation-api: lowercase `api-key`, axios params, the label track and carrier sub-resources."""
    label_id = f"se-{linked.labels()[0]['shipmentId']}"
    with httpx.Client(base_url=linked.url, headers={"api-key": KEY, "Content-Type": "application/json"}) as other:
        listed = other.get("/v2/shipments", params={"page": 2, "page_size": 10, "sort_by": "modified_at",
                                                    "sort_dir": "asc"})
        track = other.get(f"/v2/labels/{label_id}/track")
        carriers = other.get("/v2/carriers").json()["carriers"]
        services = other.get(f"/v2/carriers/{carriers[0]['carrier_id']}/services")
        packages = other.get(f"/v2/carriers/{carriers[0]['carrier_id']}/packages")
    assert listed.status_code == 200 and listed.json()["page"] == 2 and len(listed.json()["shipments"]) == 10
    assert track.status_code == 200 and track.json()["status_code"] == "NY"
    assert services.json()["services"] == carriers[0]["services"]
    assert packages.status_code == 200 and packages.json()["packages"][0]["package_code"] == "package"


def test_a_tracking_subscription_delivers_updates_our_reader_understands(linked: Linked) -> None:
    label_id = f"se-{linked.labels()[0]['shipmentId']}"
    with receiver() as hooks, linked.client() as client:
        hook_id = client.subscribe_tracking(hooks.url("/ok/track"), headers={"x-token": "t0k"})
        assert [h["webhook_id"] for h in client.list_webhooks()] == [hook_id]
        linked.scan(label_id)
        httpx.post(f"{linked.url}/__sandbox/webhooks/flush", timeout=30)
        (call,) = hooks.wait(1)
        client.delete_webhook(hook_id)
        assert client.list_webhooks() == []
    update = tracking_update(call.body)
    assert (update.label_id, update.resource_type, update.tracking.status) == (label_id, "API_TRACK", "accepted")
    assert update.tracking.carrier_has_parcel and call.headers["x-token"] == "t0k"
