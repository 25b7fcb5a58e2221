"""Contract: shipments, voids and V1 webhooks of our ShipStationClient against the V1 simulator over real HTTP.

Each test serves its own simulator (`sandbox.runner.serve`) loaded with a generated merchant whose
labels were bought before `merchant.start`; labels bought by a test are stamped just after it.
Webhook deliveries go to a small capture app served the same way, with the simulator told to
deliver at once and drop nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.common.errors import BadRequest, NotFound
from connectors.shipstation.client import ResourceNotAllowed, ShipStationClient
from connectors.shipstation.ratelimit import RateLimiter
from connectors.shipstation.shipments import Shipment
from connectors.shipstation.webhooks import WebhookPayload
from sandbox.merchant import Merchant, generate_merchant
from sandbox.runner import ServedApp, serve
from sandbox.shipstation.app import create_app
from sandbox.shipstation.state import ShipStationState
from tests.contract.tap import Exchange, Tap

KEY, SECRET = "contract-key", "contract-secret"
PACIFIC = ZoneInfo("America/Los_Angeles")
PAGE_SIZE = 4
HOOK_TOKEN = "hook-token-5e1f0c9a77d2b3c4"


@pytest.fixture(scope="module")
def merchant() -> Merchant:
    """Read-only: the simulator stores new dicts on every change and never mutates the merchant."""
    return generate_merchant(seed=23, n_orders=60)


@dataclass
class Simulator:
    state: ShipStationState
    served: ServedApp
    control: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.control = httpx.Client(base_url=self.url, timeout=30.0)

    @property
    def url(self) -> str:
        return self.served.base_url

    def client(self, tap: Tap | None = None) -> ShipStationClient:
        """Our client with its own limiter, no real sleeping."""
        limiter = RateLimiter(sleep=lambda seconds: None)
        return ShipStationClient(api_key=KEY, api_secret=SECRET, base_url=self.url, transport=tap or Tap(),
                                 sleep=lambda seconds: None, rate_limiter=limiter, rng=lambda: 0.0)

    def ship(self, order_id: int, items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Buy one label through the control plane; the simulator's JSON for it."""
        reply = self.control.post("/__sandbox/ship", json={"orderId": order_id, "items": items})
        assert reply.status_code == 200, reply.text
        return reply.json()

    def void(self, shipment_id: int) -> dict[str, Any]:
        """Void a label through the V1 API itself (`POST /shipments/voidlabel`, §3.1)."""
        reply = self.control.post("/shipments/voidlabel", json={"shipmentId": shipment_id}, auth=(KEY, SECRET))
        assert reply.status_code == 200, reply.text
        return reply.json()

    def stats(self) -> dict[str, Any]:
        return self.control.get("/__sandbox/stats").json()


Start = Callable[[], Simulator]


@pytest.fixture
def simulator(merchant: Merchant) -> Iterator[Start]:
    started: list[Simulator] = []

    def start() -> Simulator:
        ticks = iter(range(1, 1_000_000))
        state = ShipStationState.from_merchant(merchant, now=lambda: merchant.start + timedelta(seconds=next(ticks)))
        app = create_app(state, credentials={KEY: SECRET}, rate_limit=0, webhook_delay=(0.0, 0.0),
                         webhook_drop_rate=0.0)
        sim = Simulator(state, serve(app))
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.control.close()
        sim.served.stop()


@dataclass
class Inbox:
    """A served app that keeps every webhook body POSTed to `/hooks/<token>`."""

    served: ServedApp
    bodies: list[bytes]

    @property
    def target(self) -> str:
        return f"{self.served.base_url}/hooks/{HOOK_TOKEN}?key=qs-{HOOK_TOKEN}"


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    bodies: list[bytes] = []

    async def receive(request: Request) -> Response:
        if request.path_params["token"] != HOOK_TOKEN:
            return Response(status_code=404)
        bodies.append(await request.body())
        return Response(status_code=200)

    served = serve(Starlette(routes=[Route("/hooks/{token}", receive, methods=["POST"])]))
    yield Inbox(served, bodies)
    served.stop()


def by_create_date(merchant: Merchant) -> list[dict[str, Any]]:
    return sorted(merchant.shipments, key=lambda s: (s["createDate"], s["shipmentId"]))


def open_orders(sim: Simulator) -> list[dict[str, Any]]:
    """Orders that can still be shipped, with at least one goods line of quantity >= 2 first."""
    rows = [o for o in sim.state.orders.values() if o["orderStatus"] == "awaiting_shipment"]
    return sorted(rows, key=lambda o: (-max(i["quantity"] for i in o["items"] if not i.get("adjustment")),
                                       o["orderId"]))


def assert_same_shipment(got: Shipment, stored: dict[str, Any]) -> None:
    """Ids, Decimal money, aware-UTC instants and item quantities as the simulator holds them."""
    assert (got.shipment_id, got.order_id, got.order_number, got.order_key) == (
        stored["shipmentId"], stored["orderId"], stored["orderNumber"], stored.get("orderKey"))
    assert got.create_date == stored["createDate"] and got.create_date.utcoffset() == timedelta(0)
    assert got.ship_date == stored["shipDate"]
    assert got.voided is bool(stored.get("voided")) and got.void_date == stored.get("voidDate")
    assert isinstance(got.shipment_cost, Decimal) and got.shipment_cost == stored["shipmentCost"]
    assert got.insurance_cost == stored.get("insuranceCost", Decimal(0))
    assert (got.tracking_number, got.carrier_code) == (stored.get("trackingNumber"), stored.get("carrierCode"))
    assert got.store_id == (stored.get("advancedOptions") or {}).get("storeId")
    assert got.items is not None
    assert [(i.line_item_key, i.sku, i.quantity, i.unit_price) for i in got.items] == [
        (s.get("lineItemKey"), s.get("sku"), s["quantity"], s["unitPrice"]) for s in stored["shipmentItems"]]


# -- create and void scans ------------------------------------------------------------------------


def test_every_label_comes_back_exactly_once_over_many_pages(simulator: Start, merchant: Merchant) -> None:
    labels = by_create_date(merchant)
    assert len(labels) > 3 * PAGE_SIZE
    sim = simulator()
    with sim.client() as client:
        pages = list(client.iter_shipment_pages_raw(labels[0]["createDate"], labels[-1]["createDate"],
                                                    page_size=PAGE_SIZE))
    got = [Shipment.from_raw(record) for page in pages for record in page]
    assert Counter(s.shipment_id for s in got) == Counter(s["shipmentId"] for s in labels)
    assert [s.create_date for s in got] == sorted(s.create_date for s in got)
    assert all(len(page) <= PAGE_SIZE for page in pages)
    stored = {s["shipmentId"]: s for s in labels}
    for shipment in got:
        assert_same_shipment(shipment, stored[shipment.shipment_id])
    assert sim.stats()["by_path"]["/shipments"] >= len(labels) // PAGE_SIZE


def test_create_window_is_sent_in_pacific_time(simulator: Start, merchant: Merchant) -> None:
    """Both bounds sit 30 min before a label; UTC wall time would shift them 7–8 h later."""
    labels = by_create_date(merchant)
    quiet_before = [i for i in range(1, len(labels))
                    if labels[i]["createDate"] - labels[i - 1]["createDate"] > timedelta(hours=1)]
    first = quiet_before[1]
    last = next(i for i in quiet_before if i >= first + 3)
    start = labels[first]["createDate"] - timedelta(minutes=30)
    end = labels[last]["createDate"] - timedelta(minutes=30)
    sim = simulator()
    with sim.client() as client:
        got = list(client.iter_shipments(start, end, page_size=2))
    assert [s.shipment_id for s in got] == [s["shipmentId"] for s in labels[first:last]]
    assert all(start <= s.create_date <= end for s in got)


def test_void_scan_finds_voids_old_and_new(simulator: Start, merchant: Merchant) -> None:
    voided = sorted((s for s in merchant.shipments if s.get("voided")), key=lambda s: s["createDate"])
    assert voided, "the merchant has voided labels"
    live = next(s for s in by_create_date(merchant) if not s.get("voided"))
    sim = simulator()
    with sim.client() as client:
        old = list(client.iter_shipments(min(s["voidDate"] for s in voided), max(s["voidDate"] for s in voided),
                                         by="void", page_size=2))
        assert [s.shipment_id for s in old] == [s["shipmentId"] for s in voided]
        assert all(s.voided and s.void_date is not None and s.void_date.utcoffset() == timedelta(0) for s in old)

        reply = sim.void(live["shipmentId"])
        assert reply.get("approved") is True, reply
        now_voided = sim.state.shipments.get(live["shipmentId"])
        new = list(client.iter_shipments(merchant.start, by="void"))
        assert [s.shipment_id for s in new] == [live["shipmentId"]]
        assert_same_shipment(new[0], now_voided)
        assert new[0].voided and new[0].void_date == now_voided["voidDate"] > merchant.start
        # the create scan still lists the voided label, at its old createDate
        again = [s for s in client.iter_shipments(live["createDate"], live["createDate"]) if s.shipment_id
                 == live["shipmentId"]]
        assert len(again) == 1 and again[0].voided


def test_labels_bought_during_a_scan_come_once(simulator: Start, merchant: Merchant) -> None:
    sim = simulator()
    order = open_orders(sim)[0]
    bought: list[dict[str, Any]] = []

    def ship_after_first_page(exchange: Exchange) -> None:
        if exchange.path == "/shipments" and not bought:
            bought.append(sim.ship(order["orderId"]))

    with sim.client(Tap(after=ship_after_first_page)) as client:
        got = list(client.iter_shipments(by_create_date(merchant)[0]["createDate"], page_size=PAGE_SIZE))
    counts = Counter(s.shipment_id for s in got)
    assert set(counts) == {s["shipmentId"] for s in merchant.shipments} | {bought[0]["shipmentId"]}
    assert max(counts.values()) == 1
    assert got[-1].shipment_id == bought[0]["shipmentId"] and got[-1].order_id == order["orderId"]


def test_items_only_when_asked(simulator: Start, merchant: Merchant) -> None:
    labels = by_create_date(merchant)
    sim = simulator()
    with sim.client() as client:
        bare = list(client.iter_shipments(labels[0]["createDate"], include_items=False))
        full = list(client.iter_shipments(labels[0]["createDate"]))
    assert {s.shipment_id for s in bare} == {s.shipment_id for s in full}
    assert all(s.items is None for s in bare) and all(s.items for s in full)


# -- per order --------------------------------------------------------------------------------------


def test_partial_labels_of_one_order_add_up(simulator: Start) -> None:
    sim = simulator()
    order = open_orders(sim)[0]
    line = max((i for i in order["items"] if not i.get("adjustment")), key=lambda i: i["quantity"])
    goods = [i for i in order["items"] if not i.get("adjustment")]
    rest = [{"lineItemKey": i["lineItemKey"], "quantity": i["quantity"] - (i is line)} for i in goods]
    first = sim.ship(order["orderId"], [{"lineItemKey": line["lineItemKey"], "quantity": 1}])
    second = sim.ship(order["orderId"], rest)  # `null` would ship every line in full again
    with sim.client() as client:
        labels = client.list_shipments_for_order(order["orderId"])
    assert [s.shipment_id for s in labels] == [first["shipmentId"], second["shipmentId"]]
    assert labels[0].items is not None and [(i.line_item_key, i.quantity) for i in labels[0].items] == [
        (line["lineItemKey"], 1)]
    shipped: Counter[str | None] = Counter()
    for label in labels:
        for item in label.items or []:
            shipped[item.line_item_key] += item.quantity
    ordered = Counter({i["lineItemKey"]: i["quantity"] for i in goods})
    assert shipped == ordered
    assert all(s.order_id == order["orderId"] for s in labels)


def test_the_split_shipment_order(simulator: Start, merchant: Merchant) -> None:
    order = next(o for o in merchant.orders if o["orderNumber"] == merchant.special["split_shipment"])
    sim = simulator()
    with sim.client() as client:
        labels = client.list_shipments_for_order(order["orderId"])
        assert client.list_shipments_for_order(1) == []
    assert len(labels) >= 2
    stored = {s["shipmentId"]: s for s in merchant.shipments_of(order["orderNumber"])}
    assert {s.shipment_id for s in labels} == set(stored)
    for label in labels:
        assert_same_shipment(label, stored[label.shipment_id])


# -- webhooks -----------------------------------------------------------------------------------------


def test_subscribe_list_and_unsubscribe(simulator: Start, inbox: Inbox) -> None:
    sim = simulator()
    with sim.client() as client:
        hook_id = client.subscribe_webhook(inbox.target, "SHIP_NOTIFY", friendly_name="contract")
        assert isinstance(hook_id, int)
        hooks = client.list_webhooks()
        mine = [h for h in hooks if h.get("WebHookID") == hook_id]
        assert len(mine) == 1 and mine[0]["Url"] == inbox.target and mine[0]["HookType"] == "SHIP_NOTIFY"
        client.unsubscribe_webhook(hook_id)
        assert all(h.get("WebHookID") != hook_id for h in client.list_webhooks())
        with pytest.raises(NotFound):
            client.unsubscribe_webhook(hook_id)


def test_a_refused_subscription_does_not_leak_the_target(simulator: Start, inbox: Inbox) -> None:
    sim = simulator()
    with sim.client() as client, pytest.raises(BadRequest) as raised:
        client.subscribe_webhook(inbox.target, "SHIP_NOTIFY", store_id=999_999_999)
    assert HOOK_TOKEN not in str(raised.value) and HOOK_TOKEN not in (raised.value.excerpt or "")


def test_ship_notify_is_followed_to_the_label_with_items(simulator: Start, inbox: Inbox) -> None:
    sim = simulator()
    order = open_orders(sim)[0]
    with sim.client() as client:
        client.subscribe_webhook(inbox.target, "SHIP_NOTIFY")
        label = sim.ship(order["orderId"])
        sim.control.post("/__sandbox/webhooks/flush")
        assert len(inbox.bodies) == 1
        payload = WebhookPayload.parse(inbox.bodies[0])
        assert payload.resource_type == "SHIP_NOTIFY"
        assert "includeShipmentItems=False" in payload.resource_url  # as ShipStation sends it (§4)
        pages = list(client.iter_resource_pages(payload.resource_url))
    assert [(kind, [r["shipmentId"] for r in page]) for kind, page in pages] == [("shipments", [label["shipmentId"]])]
    shipment = Shipment.from_raw(pages[0][1][0])
    assert_same_shipment(shipment, sim.state.shipments.get(label["shipmentId"]))  # items despite the URL's False


def test_order_notify_is_followed_to_the_imported_orders(simulator: Start, inbox: Inbox) -> None:
    sim = simulator()
    with sim.client() as client:
        client.subscribe_webhook(inbox.target, "ORDER_NOTIFY")
        reply = sim.control.post("/__sandbox/import-orders", json={"count": 3})
        assert reply.status_code == 200, reply.text
        sim.control.post("/__sandbox/webhooks/flush")
        (body,) = inbox.bodies
        payload = WebhookPayload.parse(body)
        pages = list(client.iter_resource_pages(payload.resource_url, page_size=2))
    assert payload.resource_type == "ORDER_NOTIFY" and {kind for kind, _ in pages} == {"orders"}
    assert sorted(r["orderId"] for _, page in pages for r in page) == sorted(reply.json()["orderIds"])


def test_a_foreign_resource_url_is_refused_without_a_request(simulator: Start) -> None:
    sim = simulator()
    with sim.client() as client:
        for url in ("https://ssapi.shipstation.evil.example/shipments?batchId=1",
                    f"{sim.url.replace('127.0.0.1', 'localhost')}/shipments?batchId=1",
                    f"{sim.url}/customers?storeID=1"):
            with pytest.raises(ResourceNotAllowed):
                client.iter_resource_pages(url)
    assert sim.stats()["requests"] == 0
