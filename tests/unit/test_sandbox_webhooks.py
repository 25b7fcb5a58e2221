"""The ShipStation V1 simulator's webhooks: subscriptions, and late, lossy deliveries to a real receiver (§4, §8.3)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.merchant import Merchant, generate_merchant
from sandbox.runner import ServedApp
from sandbox.shipstation import ShipStationState, create_app
from sandbox.shipstation.delivery import Dispatcher
from sandbox.shipstation.webhooks import WebhookRegistry, ship_event
from sandbox.stack import start_sandbox
from tests.unit.test_sandbox_shipstation import CREDENTIALS, KEY, SECRET, order_body

FAST = {"webhook_delay": (0.3, 0.5), "webhook_drop_rate": 0.0}


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny webhook endpoint on loopback: `/ok/<name>` answers 200, `/fail` 500."""

    served: ServedApp
    calls: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.served.base_url}{path}"

    def wait(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.calls) >= count:
                    return list(self.calls)
            time.sleep(0.02)
        return list(self.calls)


@contextmanager
def receiver() -> Iterator[Receiver]:
    holder: list[Receiver] = []

    async def hook(request: Request) -> Response:
        got = Received(time.monotonic(), request.url.path, dict(request.headers), await request.body())
        with holder[0].lock:
            holder[0].calls.append(got)
        return Response(status_code=500 if request.url.path == "/fail" else 200)

    app = Starlette(routes=[Route("/{path:path}", hook, methods=["POST"])])
    with ServedApp(app) as served:
        holder.append(Receiver(served))
        yield holder[0]


@contextmanager
def simulator(state: ShipStationState, **options: Any) -> Iterator[tuple[httpx.Client, ServedApp]]:
    app = create_app(state, credentials=CREDENTIALS, rate_limit=0, **options)
    with ServedApp(app) as served, httpx.Client(base_url=served.base_url, auth=(KEY, SECRET), timeout=10) as client:
        yield client, served


def control(client: httpx.Client, method: str, path: str, body: Any = None) -> Any:
    answer = httpx.request(method, f"{client.base_url}/__sandbox{path}", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def merchant() -> Merchant:
    return generate_merchant(seed=7)


def shippable(state: ShipStationState) -> list[int]:
    return [o["orderId"] for o in state.orders.values() if o["orderStatus"] == "awaiting_shipment"]


# -- subscriptions ------------------------------------------------------------------------------------


def test_subscribe_list_and_delete() -> None:
    with simulator(ShipStationState()) as (client, _):
        first = client.post("/webhooks/subscribe", json={"target_url": "https://hooks.example/a?t=s3cret",
                                                         "event": "ORDER_NOTIFY", "friendly_name": "Orders"})
        second = client.post("/webhooks/subscribe", json={"target_url": "http://hooks.example/b",
                                                          "event": "SHIP_NOTIFY", "store_id": "310001"})
        listed = client.get("/webhooks").json()
        gone = client.delete(f"/webhooks/{first.json()['id']}")
        again = client.delete(f"/webhooks/{first.json()['id']}")
        after = client.get("/webhooks").json()
        anonymous = httpx.get(f"{client.base_url}/webhooks")
        stats = control(client, "GET", "/stats")
    assert first.status_code == second.status_code == 200
    assert set(first.json()) == {"id"} and second.json()["id"] == first.json()["id"] + 1
    hooks = listed["webhooks"]
    assert [h["WebHookID"] for h in hooks] == [first.json()["id"], second.json()["id"]]
    assert hooks[0] == {"IsLabelAPIHook": False, "WebHookID": first.json()["id"], "SellerID": hooks[0]["SellerID"],
                        "StoreID": None, "HookType": "ORDER_NOTIFY", "MessageFormat": "Json",
                        "Url": "https://hooks.example/a?t=s3cret", "Name": "Orders", "BulkCopyBatchID": None,
                        "BulkCopyRecordID": None, "Active": True, "WebhookLogs": [], "Seller": None, "Store": None}
    assert (hooks[1]["StoreID"], hooks[1]["HookType"], hooks[1]["Name"]) == (310001, "SHIP_NOTIFY", None)
    assert (gone.status_code, gone.content) == (200, b"")
    assert again.status_code == 404
    assert [h["WebHookID"] for h in after["webhooks"]] == [second.json()["id"]]
    assert anonymous.status_code == 401
    assert stats["by_path"]["/webhooks/subscribe"] == 2 and stats["by_path"]["/webhooks/{webhookId}"] == 2


@pytest.mark.parametrize(("body", "field"), [
    ({"event": "ORDER_NOTIFY"}, "target_url"),
    ({"target_url": "ftp://x.example/h", "event": "ORDER_NOTIFY"}, "target_url"),
    ({"target_url": "not a url", "event": "ORDER_NOTIFY"}, "target_url"),
    ({"target_url": "http://x.example/h"}, "event"),
    ({"target_url": "http://x.example/h", "event": "order_notify"}, "event"),
    ({"target_url": "http://x.example/h", "event": "LABEL_CREATED_V2"}, "event"),
    ({"target_url": "http://x.example/h", "event": "SHIP_NOTIFY", "store_id": 999}, "store_id"),
    ({"target_url": "http://x.example/h", "event": "SHIP_NOTIFY", "store_id": "abc"}, "store_id"),
    (["not", "an", "object"], "webhook"),
])
def test_subscribe_rejects_what_the_real_one_rejects(body: Any, field: str) -> None:
    state = ShipStationState()
    with simulator(state) as (client, _):
        answer = client.post("/webhooks/subscribe", json=body)
    assert answer.status_code == 400 and list(answer.json()["ModelState"]) == [field]
    assert state.webhooks.hooks == {}


def test_subscriptions_share_the_rate_limit() -> None:
    app = create_app(ShipStationState(), credentials=CREDENTIALS, rate_limit=2, window_seconds=60)
    with ServedApp(app) as served, httpx.Client(base_url=served.base_url, auth=(KEY, SECRET)) as client:
        answers = [client.get("/webhooks"), client.post("/webhooks/subscribe", json={
            "target_url": "http://x.example/h", "event": "SHIP_NOTIFY"}), client.get("/webhooks")]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[1].headers["X-Rate-Limit-Remaining"] == "0"


# -- deliveries -------------------------------------------------------------------------------------


def test_ship_notify_is_delivered_late_exactly_once_and_its_url_answers_the_new_label(merchant: Merchant) -> None:
    state = ShipStationState.from_merchant(merchant)
    with receiver() as hooks, simulator(state, **FAST) as (client, served):
        client.post("/webhooks/subscribe", json={"target_url": hooks.url("/ok/ship"), "event": "SHIP_NOTIFY"})
        client.post("/webhooks/subscribe", json={"target_url": hooks.url("/ok/orders"), "event": "ORDER_NOTIFY"})
        order_id = shippable(state)[0]
        sent = time.monotonic()
        label = control(client, "POST", "/ship", {"orderId": order_id, "items": None})
        [call] = hooks.wait(1)
        time.sleep(0.3)  # nothing else is coming
        payload = json.loads(call.body)
        followed = client.get(payload["resource_url"]).json()
        log = control(client, "GET", "/webhooks/log")
    assert len(hooks.calls) == 1 and call.path == "/ok/ship"
    assert 0.3 <= call.at - sent < 2.0
    assert payload == {"resource_url": f"{served.base_url}/shipments?storeID={label['advancedOptions']['storeId']}"
                                       f"&batchId={payload['resource_url'].split('batchId=')[1].split('&')[0]}"
                                       "&includeShipmentItems=False", "resource_type": "SHIP_NOTIFY"}
    assert call.headers["content-type"] == "application/json"
    assert not [h for h in call.headers if "signature" in h or h.startswith("x-shipengine")]
    assert [s["shipmentId"] for s in followed["shipments"]] == [label["shipmentId"]]
    assert followed["shipments"][0]["shipmentItems"] is None and followed["total"] == 1
    assert [(e["outcome"], e["status"], e["resource_type"]) for e in log] == [("delivered", 200, "SHIP_NOTIFY")]


def test_order_notify_reports_one_import_and_its_url_answers_exactly_its_orders(merchant: Merchant) -> None:
    state = ShipStationState.from_merchant(merchant)
    before = set(state.orders)
    with receiver() as hooks, simulator(state, **FAST) as (client, _):
        client.post("/webhooks/subscribe", json={"target_url": hooks.url("/ok/o"), "event": "ORDER_NOTIFY"})
        imported = control(client, "POST", "/import-orders", {"count": 3})
        [call] = hooks.wait(1)
        payload = json.loads(call.body)
        followed = client.get(payload["resource_url"]).json()["orders"]
        newest = client.get("/orders", params={"sortBy": "CreateDate", "sortDir": "DESC", "pageSize": 3}).json()
    assert payload["resource_type"] == "ORDER_NOTIFY" and "importBatch=" in payload["resource_url"]
    assert "/orders?storeID=310002&importBatch=" in payload["resource_url"]
    assert sorted(o["orderId"] for o in followed) == sorted(imported["orderIds"]) == sorted(set(state.orders) - before)
    assert [o["orderNumber"] for o in followed] == imported["orderNumbers"]
    assert all(o["orderStatus"] == "awaiting_shipment" and o["createDate"] == o["modifyDate"] for o in followed)
    assert {o["orderId"] for o in newest["orders"]} == set(imported["orderIds"])
    numbers = sorted(int(n.split("-")[1]) for n in imported["orderNumbers"])
    highest = max(int(o["orderNumber"].split("-")[1]) for o in merchant.orders if o["orderNumber"].startswith("WC-"))
    assert numbers == [highest + 1, highest + 2, highest + 3]


def test_drop_rate_one_drops_all_and_zero_delivers_all(merchant: Merchant) -> None:
    state = ShipStationState.from_merchant(merchant)
    with receiver() as hooks, simulator(state, webhook_delay=(5.0, 9.0), webhook_drop_rate=1.0) as (client, _):
        client.post("/webhooks/subscribe", json={"target_url": hooks.url("/ok/s"), "event": "SHIP_NOTIFY"})
        orders = shippable(state)
        for order_id in orders[:3]:
            control(client, "POST", "/ship", {"orderId": order_id})
        pending = control(client, "GET", "/webhooks/log")
        dropped = control(client, "POST", "/webhooks/flush")
        assert control(client, "POST", "/webhooks/config", {"drop_rate": 0, "delay_min": 0, "delay_max": 0.1}) == {
            "delay_min": 0.0, "delay_max": 0.1, "drop_rate": 0.0}
        for order_id in orders[3:6]:
            control(client, "POST", "/ship", {"orderId": order_id})
        delivered = control(client, "POST", "/webhooks/flush")
    assert [e["outcome"] for e in pending] == ["pending"] * 3
    assert [e["outcome"] for e in dropped] == ["dropped"] * 3
    assert [e["outcome"] for e in delivered] == ["dropped"] * 3 + ["delivered"] * 3
    urls = [json.loads(call.body)["resource_url"] for call in hooks.calls]
    # Each delivery has its own random delay, so they may arrive in any order.
    assert sorted(urls) == sorted(e["resource_url"] for e in delivered[3:]) and len(set(urls)) == 3


def test_store_filter_trigger_rules_and_failures(merchant: Merchant) -> None:
    state = ShipStationState.from_merchant(merchant)
    with receiver() as hooks, simulator(state, **FAST) as (client, _):
        for body in ({"target_url": hooks.url("/ok/manual"), "event": "SHIP_NOTIFY", "store_id": 310001},
                     {"target_url": hooks.url("/ok/orders"), "event": "ORDER_NOTIFY"},
                     {"target_url": hooks.url("/fail"), "event": "ORDER_NOTIFY"}):
            assert client.post("/webhooks/subscribe", json=body).status_code == 200
        woo = next(o for o in shippable(state) if state.orders[o]["advancedOptions"]["storeId"] == 310002)
        control(client, "POST", "/ship", {"orderId": woo})  # store 310002: the manual-store hook stays quiet
        client.post("/orders/createorder", json=order_body("unpaid", orderStatus="awaiting_payment"))
        client.post("/orders/createorder", json=order_body("unpaid", orderStatus="on_hold"))  # leaves awaiting_payment
        client.post("/orders/createorder", json=order_body("unpaid", orderStatus="awaiting_shipment"))  # an edit
        client.post("/orders/createorders", json=[order_body("a", orderNumber="A"), order_body("b", orderNumber="B")])
        log = control(client, "POST", "/webhooks/flush")
        time.sleep(0.2)
        followed = [sorted(o["orderKey"] for o in client.get(e["resource_url"]).json()["orders"])
                    for e in log if e["target"].endswith("/ok/orders")]
    assert not [c for c in hooks.calls if c.path == "/ok/manual"]
    assert followed == [["unpaid"], ["a", "b"]]
    failed = [e for e in log if e["target"].endswith("/fail")]
    assert [(e["outcome"], e["status"]) for e in failed] == [("failed", 500), ("failed", 500)]
    assert len([c for c in hooks.calls if c.path == "/fail"]) == 2  # never retried


def test_same_seed_same_delays_and_drops() -> None:
    def schedule(seed: int) -> list[tuple[float, bool]]:
        hooks = WebhookRegistry()
        hooks.subscribe({"target_url": "http://127.0.0.1:9/h", "event": "SHIP_NOTIFY"}, set())
        now = [100.0]
        dispatcher = Dispatcher(hooks, base_url="http://sim", delay=(1.0, 4.0), drop_rate=0.5, seed=seed,
                                clock=lambda: now[0])
        dispatcher._start = lambda: None  # schedule only: no thread, nothing sent
        for batch in range(20):
            dispatcher.publish(ship_event(310002, batch))
        return [(entry.due - 100.0, entry.drop) for _, _, entry in sorted(dispatcher._queue)]

    first, again, other = schedule(3), schedule(3), schedule(4)
    assert first == again != other
    assert all(1.0 <= delay <= 4.0 for delay, _ in first)
    assert 3 <= sum(drop for _, drop in first) <= 17


def test_bad_config_is_refused_and_the_thread_stops_with_the_server(merchant: Merchant) -> None:
    state = ShipStationState.from_merchant(merchant)
    app = create_app(state, credentials=CREDENTIALS, rate_limit=0, **FAST)
    with ServedApp(app) as served:
        base = served.base_url
        assert httpx.post(f"{base}/__sandbox/webhooks/config", json={"drop_rate": 2}).status_code == 400
        assert httpx.post(f"{base}/__sandbox/webhooks/config", json={"delay_min": 3, "delay_max": 1}).status_code == 400
        httpx.post(f"{base}/webhooks/subscribe", json={"target_url": f"{base}/nowhere", "event": "SHIP_NOTIFY"},
                   auth=(KEY, SECRET))
        httpx.post(f"{base}/__sandbox/ship", json={"orderId": shippable(state)[0]})
        thread = app.state.webhooks._thread
        assert thread is not None and thread.is_alive()
    assert not thread.is_alive() and app.state.webhooks.publish not in state.listeners


def test_stack_helpers_ship_void_import_and_report() -> None:
    with start_sandbox(seed=5, orders=40, rate_limit=0, webhook_delay=(0.0, 0.1), webhook_drop_rate=0.0) as sb, \
            receiver() as hooks:
        url = sb.shipstation.base_url
        for event in ("SHIP_NOTIFY", "ORDER_NOTIFY"):
            httpx.post(f"{url}/webhooks/subscribe", json={"target_url": hooks.url(f"/ok/{event}"), "event": event},
                       auth=("sandbox-api-key", "sandbox-api-secret"))
        order = next(o for o in sb.merchant.orders if o["orderStatus"] == "awaiting_shipment"
                     and o["orderNumber"] not in sb.merchant.special.values())
        label = sb.ship(order["orderId"], [{"lineItemKey": "1", "quantity": 1}])
        voided = sb.void(label["shipmentId"])
        imported = sb.import_orders(2)
        first, second = sb.advance(), sb.advance()
        log = sb.flush_webhooks()
        labels = sb.shipments()
    assert voided == {"approved": True, "message": "Label voided successfully"}
    assert len(imported["orderIds"]) == 2
    assert (first["shipped"], first["voided"]) == (0, 0) and first["edited"] and first["cancelled"]
    assert second["shipped"] >= 1 and second["voided"] >= 1
    assert len(labels) == len(sb.merchant.shipments) + 1 + second["shipped"]
    assert next(s for s in labels if s["shipmentId"] == label["shipmentId"])["voided"] is True
    assert [e["resource_type"] for e in log].count("ORDER_NOTIFY") == 1
    assert [e["resource_type"] for e in log].count("SHIP_NOTIFY") >= 2
    assert all(e["resource_url"].startswith(url) and e["outcome"] == "delivered" for e in log)
