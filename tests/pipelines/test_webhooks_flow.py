"""Webhooks end to end: ShipStation (sandbox) -> receiver -> durable queue -> sensor -> runs -> Tally."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import httpx
import pytest

from bench.webhook_load import deliver_burst
from connectors.shipstation.client import ShipStationClient
from ml_connector.runner import instance_for, run_job
from ml_connector.webhooks.app import create_receiver_app, target_url
from ml_connector.webhooks.signature import JwksCache
from pipelines.definitions import build_definitions, build_resources
from pipelines.shipstation_tally.queue_sensors import shipstation_webhook_sensor
from pipelines.shipstation_tally.sensors import shipstation_orders_sensor, shipstation_shipments_sensor
from pipelines.sides.tally.markers import MARKER_RE
from sandbox.runner import ServedApp, serve
from sandbox.stack import API_KEY, API_SECRET
from state.webhook_queue import WebhookStore, queue_path

SECRET = "test-secret-0123456789abcdef"


@pytest.fixture
def receiver(env) -> Iterator[ServedApp]:
    store = WebhookStore(queue_path(env.home))
    jwks = JwksCache(f"{env.sandbox.shipstation_v2.base_url}/jwks")
    app = create_receiver_app(store=store, secret=SECRET, secret_header=None,
                              shipstation_base_url=env.sandbox.shipstation.base_url, jwks=jwks)
    served = serve(app)
    yield served
    served.stop()
    store.close()


def shipstation(env) -> ShipStationClient:
    return ShipStationClient(base_url=env.sandbox.shipstation.base_url, api_key=API_KEY, api_secret=API_SECRET)


def configure_delivery(env, **config) -> None:
    httpx.post(f"{env.sandbox.shipstation.base_url}/__sandbox/webhooks/config", json=config, timeout=10)


def queued(env) -> int:
    with WebhookStore(queue_path(env.home)) as store:
        return store.count()


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def drain(env, cursor: str | None = None) -> tuple[list, str | None]:
    """One webhook-sensor tick, then each run it asked for; returns (summaries, new cursor)."""
    result = shipstation_webhook_sensor(dg.build_sensor_context(cursor=cursor, resources=build_resources(
        env.settings())))
    defs, instance = build_definitions(env.settings()), instance_for(env.home)
    summaries = [run_job(defs, r.job_name, instance, r.run_config) for r in result.run_requests]
    return summaries, result.cursor


def voucher_keys(env, voucher_type: str) -> set[str]:
    return {k for v in env.sandbox.vouchers() if v["type"] == voucher_type and not v["cancelled"]
            for k in MARKER_RE.findall(v["narration"] or "")}


def test_an_order_webhook_becomes_a_voucher_through_the_queue(env, receiver):
    configure_delivery(env, delay_min=0.05, delay_max=0.2, drop_rate=0.0, seed=1)
    with shipstation(env) as client:
        client.subscribe_webhook(target_url(receiver.base_url, SECRET, None), "ORDER_NOTIFY")
        client.subscribe_webhook(target_url(receiver.base_url, SECRET, None), "SHIP_NOTIFY")
    imported = env.sandbox.import_orders(3)
    wait_for(lambda: queued(env) == 1)
    [summary], cursor = drain(env)
    assert summary.success, summary.error
    assert summary.metric("shipstation/orders", "orders_read") == 3  # exactly the import, not a full scan
    assert {f"ss-order-{i}" for i in imported["orderIds"]} <= voucher_keys(env, "Sales Order")
    shipment = env.sandbox.ship(imported["orderIds"][0])
    wait_for(lambda: queued(env) == 2)
    [ship_run], cursor = drain(env, cursor)
    assert ship_run.success and f"ss-shipment-{shipment['shipmentId']}" in voucher_keys(env, "Delivery Note")
    nothing, _ = drain(env, cursor)
    assert nothing == []


def run_keyed(defs, job: str, instance, request: dg.RunRequest):
    """Run a sensor's request as the daemon would: under its run key, so the sensor sees it succeed."""
    return run_job(defs, request.job_name or job, instance, request.run_config,
                   tags={"dagster/run_key": request.run_key})


def test_a_dropped_webhook_is_caught_by_the_next_poll(env, receiver):
    configure_delivery(env, delay_min=0.0, delay_max=0.05, drop_rate=1.0, seed=2)
    with shipstation(env) as client:
        client.subscribe_webhook(target_url(receiver.base_url, SECRET, None), "ORDER_NOTIFY")
    resources = build_resources(env.settings())
    defs, instance = build_definitions(env.settings()), instance_for(env.home)
    tick = shipstation_orders_sensor(dg.build_sensor_context(cursor=None, resources=resources, instance=instance))
    assert run_keyed(defs, "shipstation_to_tally", instance, tick.run_requests[0]).success
    imported = env.sandbox.import_orders(2)
    wait_for(lambda: any(e["outcome"] == "dropped" for e in env.sandbox.webhook_log()))
    assert queued(env) == 0
    nxt = shipstation_orders_sensor(dg.build_sensor_context(cursor=tick.cursor, resources=resources,
                                                            instance=instance))
    [request] = nxt.run_requests  # the very next poll sees the new orders
    assert run_keyed(defs, "shipstation_to_tally", instance, request).success
    assert {f"ss-order-{i}" for i in imported["orderIds"]} <= voucher_keys(env, "Sales Order")


def test_a_dropped_ship_notify_is_caught_by_the_shipment_poll(env, receiver):
    configure_delivery(env, delay_min=0.0, delay_max=0.05, drop_rate=1.0, seed=3)
    resources = build_resources(env.settings())
    defs, instance = build_definitions(env.settings()), instance_for(env.home)
    context = {"resources": resources, "instance": instance}
    tick = shipstation_shipments_sensor(dg.build_sensor_context(cursor=None, **context))
    for first in tick.run_requests:  # the first labels, and the first (empty) void window
        assert run_keyed(defs, "shipstation_shipments_to_tally", instance, first).success
    order = next(o for o in env.sandbox.merchant.orders if o["orderStatus"] == "awaiting_shipment"
                 and o["orderNumber"] not in env.sandbox.merchant.special.values())
    shipment = env.sandbox.ship(order["orderId"])
    nxt = shipstation_shipments_sensor(dg.build_sensor_context(cursor=tick.cursor, **context))
    [request] = nxt.run_requests
    assert run_keyed(defs, "shipstation_shipments_to_tally", instance, request).success
    assert f"ss-shipment-{shipment['shipmentId']}" in voucher_keys(env, "Delivery Note")
    env.sandbox.void(shipment["shipmentId"])  # voids never send a webhook: only the void poll sees them
    again = shipstation_shipments_sensor(dg.build_sensor_context(cursor=nxt.cursor, **context))
    [void_request] = again.run_requests
    assert run_keyed(defs, "shipstation_shipments_to_tally", instance, void_request).success
    assert f"ss-shipment-{shipment['shipmentId']}" not in voucher_keys(env, "Delivery Note")


def requests_seen(env) -> int:
    """Every authenticated API request the ShipStation sandbox has answered."""
    return httpx.get(f"{env.sandbox.shipstation.base_url}/__sandbox/stats", timeout=10).json()["requests"]


def test_forged_stale_and_foreign_webhooks_are_refused_and_nothing_is_fetched(env, receiver):
    base = env.sandbox.shipstation.base_url
    good = json.dumps({"resource_url": f"{base}/orders?storeID=310002&importBatch=x", "resource_type": "ORDER_NOTIFY"})
    foreign = json.dumps({"resource_url": "https://evil.example/orders?importBatch=x", "resource_type": "ORDER_NOTIFY"})
    other_port = json.dumps({"resource_url": base.rsplit(":", 1)[0] + ":1/orders", "resource_type": "ORDER_NOTIFY"})
    url = target_url(receiver.base_url, SECRET, None)
    assert env.run().success
    before = requests_seen(env)
    assert before > 0
    assert httpx.post(target_url(receiver.base_url, "forged-secret-0123456789", None), content=good).status_code == 404
    assert httpx.post(url, content=foreign).status_code == 400
    assert httpx.post(url, content=other_port).status_code == 400
    stale = (datetime.now(UTC) - timedelta(minutes=20)).isoformat().replace("+00:00", "Z")
    signed = httpx.post(f"{env.sandbox.shipstation_v2.base_url}/__sandbox/sign",
                        json={"body": good, "timestamp": stale}).json()
    assert httpx.post(url, content=good, headers=signed).status_code == 400
    fresh = httpx.post(f"{env.sandbox.shipstation_v2.base_url}/__sandbox/sign", json={"body": good}).json()
    assert httpx.post(url, content=good + " ", headers=fresh).status_code == 401  # body changed after signing
    assert queued(env) == 0
    runs, _ = drain(env)
    assert runs == [] and requests_seen(env) == before  # nothing was stored, so nothing was ever followed


def test_a_burst_of_500_is_stored_without_loss_and_drained_without_duplicates(env, receiver):
    configure_delivery(env, delay_min=0.0, delay_max=0.0, drop_rate=1.0, seed=4)  # we replay them ourselves
    with shipstation(env) as client:
        client.subscribe_webhook(target_url(receiver.base_url, SECRET, None), "ORDER_NOTIFY")
    batches = [env.sandbox.import_orders(2) for _ in range(5)]
    wait_for(lambda: len(env.sandbox.webhook_log()) == 5)
    urls = [entry["resource_url"] for entry in env.sandbox.webhook_log()]
    assert queued(env) == 0
    bodies = [json.dumps({"resource_url": urls[n % 5], "resource_type": "ORDER_NOTIFY"}).encode()
              for n in range(500)]  # a storm of repeated deliveries of five imports
    results = deliver_burst(target_url(receiver.base_url, SECRET, None), bodies, concurrency=100)
    assert [status for status, _ in results] == [200] * 500
    ids = [body["stored"] for _, body in results]
    assert len(set(ids)) == 5 and queued(env) == 5  # replay protection: each delivery is stored once
    summaries, cursor = drain(env)
    assert [s.success for s in summaries] == [True]
    assert summaries[0].metric("shipstation/orders", "orders_read") == 10
    new_ids = {f"ss-order-{i}" for b in batches for i in b["orderIds"]}
    per_order = [k for v in env.sandbox.vouchers() if v["type"] == "Sales Order"
                 for k in MARKER_RE.findall(v["narration"] or "") if k in new_ids]
    assert sorted(per_order) == sorted(new_ids)  # each new order exactly once
    assert drain(env, cursor)[0] == []
    with WebhookStore(queue_path(Path(env.home))) as store:
        assert store.count(undrained_only=True) == 0
