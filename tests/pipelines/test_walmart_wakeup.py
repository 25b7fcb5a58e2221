"""Walmart order notifications wake the orders sensor early (issue 13 item 4), end to end on loopback:
the Walmart simulator delivers PO_CREATED to our running receiver, the receiver queues it once, the
orders sensor drains it into an orders run before its next poll; polling stays the source of truth."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import httpx
import pytest

from connectors.common.ratelimit import PerEndpointBuckets
from connectors.walmart.client import WalmartClient
from connectors.walmart.notifications import WalmartNotifications, subscription_spec
from ml_connector.webhooks.app import receiver_app
from ml_connector.webhooks.walmart import WALMART_PATH, WalmartSource, subscribe
from pipelines import polling
from pipelines.walmart_tally.jobs import ORDERS_JOB
from pipelines.walmart_tally.sensors import POLL_EVERY, WOKEN_TAG, walmart_orders_sensor
from pipelines.walmart_tally.settings import WalmartTallyFlowSettings, WalmartTallySettings
from resources import StateResource, WalmartResource
from sandbox.runner import ServedApp, serve
from sandbox.walmart import WalmartState, create_app
from state.webhook_queue import WebhookStore, queue_path

CLIENT_ID, CLIENT_SECRET = "wake-client", "wake-secret"
SECRET = "walmart-webhook-secret-0123456789"


@dataclass
class World:
    sim: ServedApp
    receiver: ServedApp
    state: WalmartState
    home: Path
    store: WebhookStore
    t0: datetime

    def client(self) -> WalmartClient:
        return WalmartClient(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, base_url=self.sim.base_url,
                             pacer=PerEndpointBuckets(), max_retries=0)

    def subscribe(self) -> None:
        subscribe(WalmartNotifications(self.client()), WalmartSource(SECRET), self.receiver.base_url)

    def new_order(self) -> str:
        answer = httpx.post(f"{self.sim.base_url}/__sandbox/orders", json={"lines": [{"sku": "SKU-1"}]}, timeout=10)
        answer.raise_for_status()
        assert self.state.notifications.wait_idle()
        return answer.json()["purchaseOrderId"]

    def order_reads(self) -> int:
        stats = httpx.get(f"{self.sim.base_url}/__sandbox/stats", timeout=10).json()
        return stats["by_endpoint"].get("GET /v3/orders", 0)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    state = WalmartState()
    state.notifications.retry_delays = (0.05, 0.05)
    sim = serve(create_app(state, credentials={CLIENT_ID: CLIENT_SECRET}, rate_limits=False))
    store = WebhookStore(queue_path(tmp_path))
    receiver = serve(receiver_app(store=store, sources=[WalmartSource(SECRET)]))
    httpx.post(f"{sim.base_url}/__sandbox/seed", json={"items": [{"sku": "SKU-1", "price": "5.00", "quantity": 9}]},
               timeout=10).raise_for_status()
    try:
        yield World(sim, receiver, state, tmp_path, store, datetime.now(UTC).replace(microsecond=0))
    finally:
        receiver.stop()
        sim.stop()
        store.close()


def tick(world: World, inst: dg.DagsterInstance, cursor: str | None, seconds: float,
         monkeypatch: pytest.MonkeyPatch) -> dg.SensorResult:
    monkeypatch.setattr(polling, "utcnow", lambda: world.t0 + timedelta(seconds=seconds))
    flow = WalmartTallySettings.from_settings(
        WalmartTallyFlowSettings(walmart_sync_start=world.t0 - timedelta(days=2)), "Asia/Kolkata")
    resources = {"walmart": WalmartResource(base_url=world.sim.base_url, client_id=CLIENT_ID,
                                            client_secret=CLIENT_SECRET),
                 "walmart_flow": flow, "state": StateResource(home=str(world.home))}
    return walmart_orders_sensor(dg.build_sensor_context(cursor=cursor, resources=resources, instance=inst))


@dg.op
def ok() -> None:
    pass


@dg.job
def passing() -> None:
    ok()


def succeed(inst: dg.DagsterInstance, request: dg.RunRequest) -> None:
    passing.execute_in_process(instance=inst, tags={polling.RUN_KEY_TAG: request.run_key})


def orders_runs(result: dg.SensorResult) -> list[dg.RunRequest]:
    return [r for r in result.run_requests or [] if r.job_name == ORDERS_JOB]


def post(world: World, body: bytes, signature: str) -> httpx.Response:
    return httpx.post(f"{world.receiver.base_url}{WALMART_PATH}", content=body, timeout=10,
                      headers={"Authorization": signature, "content-type": "application/json"})


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


def test_the_receiver_stores_a_delivery_once_and_refuses_what_is_not_walmarts(world: World) -> None:
    world.subscribe()
    po = world.new_order()
    [event] = world.store.after(0)
    assert (event.source, event.resource_type, event.resource_url) == ("walmart", "PO_CREATED", f"walmart:orders/{po}")
    body = event.body.encode()
    again = post(world, body, sign(body))  # Walmart retrying a delivery it thinks failed
    assert again.status_code == 200 and again.json() == {"stored": event.id, "duplicate": True}
    assert post(world, body, sign(body + b"x")).status_code == 401
    offer = json.dumps({"source": {"eventType": "OFFER_UNPUBLISHED", "eventId": "e-9"}, "payload": {}}).encode()
    assert post(world, offer, sign(offer)).json() == {"error": "unsupported_event"}
    assert [e.id for e in world.store.after(0)] == [event.id]


def test_walmart_can_validate_the_receiver_url_and_subscribing_twice_keeps_one_subscription(world: World) -> None:
    notes = WalmartNotifications(world.client())
    spec = subscription_spec(f"{world.receiver.base_url}{WALMART_PATH}", WalmartSource(SECRET).auth_details())
    assert notes.test_notification(spec) == "Eventurl successfully validated"
    world.subscribe()
    world.subscribe()
    assert len(notes.list_subscriptions(event_type="PO_CREATED")) == 1


def test_a_notification_wakes_the_orders_sensor_before_its_next_poll(world: World, monkeypatch) -> None:
    world.subscribe()
    with dg.instance_for_test() as inst:
        first = tick(world, inst, None, 0, monkeypatch)  # polls Walmart: nothing yet
        assert not first.run_requests
        reads = world.order_reads()
        quiet = tick(world, inst, first.cursor, 30, monkeypatch)
        assert not quiet.run_requests and world.order_reads() == reads  # between polls: no Walmart call
        world.new_order()
        woken = tick(world, inst, quiet.cursor, 60, monkeypatch)
        [run] = orders_runs(woken)
        assert 60 < POLL_EVERY.total_seconds() and world.order_reads() == reads  # early, and without a probe
        assert run.tags[WOKEN_TAG].startswith("walmart-webhooks:")
        assert run.run_config["ops"]["walmart__orders"]["config"]["modified_end"] == (
            world.t0 + timedelta(seconds=60)).isoformat()
        assert world.store.count(undrained_only=True) == 0
        assert {e.run_key for e in world.store.after(0)} == {run.run_key}
        later = tick(world, inst, woken.cursor, 90, monkeypatch)
        assert not later.run_requests  # the notification was taken once


def test_a_lost_notification_loses_nothing_the_next_poll_finds_the_order(world: World, monkeypatch) -> None:
    with dg.instance_for_test() as inst:  # no subscription: every notification is "lost"
        first = tick(world, inst, None, 0, monkeypatch)
        world.new_order()
        quiet = tick(world, inst, first.cursor, 30, monkeypatch)
        assert not quiet.run_requests
        polled = tick(world, inst, quiet.cursor, POLL_EVERY.total_seconds(), monkeypatch)
        [run] = orders_runs(polled)
        assert WOKEN_TAG not in run.tags


def test_notifications_wait_while_an_orders_window_runs_then_open_the_next(world: World, monkeypatch) -> None:
    world.new_order()
    world.subscribe()
    with dg.instance_for_test() as inst:
        first = tick(world, inst, None, 0, monkeypatch)
        [running] = orders_runs(first)  # a window from the poll, not yet finished
        world.new_order()
        busy = tick(world, inst, first.cursor, 30, monkeypatch)
        assert not orders_runs(busy) and world.store.count(undrained_only=True) == 1  # kept for later
        succeed(inst, running)
        woken = tick(world, inst, busy.cursor, 60, monkeypatch)
        [run] = orders_runs(woken)
        config = run.run_config["ops"]["walmart__orders"]["config"]
        first_end = running.run_config["ops"]["walmart__orders"]["config"]["modified_end"]
        assert config["modified_start"] < first_end < config["modified_end"]  # joins up with the first window
        assert run.tags.get(WOKEN_TAG) and world.store.count(undrained_only=True) == 0


def test_the_cli_subscribes_once_and_never_prints_the_secret(world: World, capsys) -> None:
    import argparse
    from types import SimpleNamespace

    from ml_connector.webhooks.walmart import cmd_subscribe_walmart

    settings = SimpleNamespace(walmart_webhook_secret=SECRET, webhook_public_url=world.receiver.base_url,
                               ml_connector_home=world.home, walmart_client_id=CLIENT_ID,
                               walmart_client_secret=CLIENT_SECRET, walmart_base_url=world.sim.base_url,
                               walmart_svc_name="Walmart Marketplace")
    args = argparse.Namespace(url=None)
    assert cmd_subscribe_walmart(args, settings) == 0
    assert cmd_subscribe_walmart(args, settings) == 0
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err and "PO_CREATED" in out.out
    [sub] = WalmartNotifications(world.client()).list_subscriptions()
    assert sub.event_url == f"{world.receiver.base_url}{WALMART_PATH}" and sub.status == "ACTIVE"
    assert (world.home / "tokens").is_dir()  # the CLI shares the token cache with the sensor's processes
    world.new_order()
    assert [e.resource_type for e in world.store.after(0)] == ["PO_CREATED"]
    assert cmd_subscribe_walmart(args, SimpleNamespace(**{**vars(settings), "walmart_webhook_secret": ""})) == 2


def test_the_receiver_mounts_walmart_only_when_its_secret_is_set() -> None:
    from types import SimpleNamespace

    from pydantic import SecretStr

    from ml_connector.webhooks.sources import build_sources

    off = build_sources(SimpleNamespace(zoho_webhook_secret=SecretStr(""), walmart_webhook_secret=SecretStr("")))
    on = build_sources(SimpleNamespace(zoho_webhook_secret=SecretStr(""), walmart_webhook_secret=SecretStr(SECRET),
                                       walmart_webhook_auth="BASIC_AUTH"))
    assert off == [] and [(s.name, s.paths, s.method) for s in on] == [("walmart", (WALMART_PATH,), "BASIC_AUTH")]
    with pytest.raises(ValueError):
        WalmartSource("short")


def test_basic_auth_deliveries_are_checked_before_the_body_is_read(world: World, tmp_path: Path) -> None:
    source = WalmartSource(SECRET, method="BASIC_AUTH", header="X-WM-Auth")
    store = WebhookStore(queue_path(tmp_path / "basic"))
    rx = serve(receiver_app(store=store, sources=[source]))
    try:
        subscribe(WalmartNotifications(world.client()), source, rx.base_url)
        po = world.new_order()
        assert [e.resource_url for e in store.after(0)] == [f"walmart:orders/{po}"]
        body = store.after(0)[0].body.encode()
        anonymous = httpx.post(f"{rx.base_url}{WALMART_PATH}", content=body, timeout=10)
        assert anonymous.status_code == 404 and len(store.after(0)) == 1  # like any unknown path
    finally:
        rx.stop()
        store.close()
