"""The pair's sensors: a polling window per run key, and verified Zoho webhooks waking the contact sync once."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import dagster as dg

from pipelines.shipstation_zoho.sensors import shipstation_orders_to_zoho_sensor, zoho_contacts_webhook_sensor
from pipelines.shipstation_zoho.settings import ShipStationZohoSettings
from resources import ShipStationResource, StateResource
from sandbox.stack import API_KEY, API_SECRET, start_sandbox
from state.webhook_queue import WebhookEvent, WebhookStore, queue_path


def test_the_orders_sensor_asks_for_one_window_and_not_again_while_it_runs():
    with start_sandbox(seed=5, orders=20, rate_limit=0) as sb:
        start = min(o["modifyDate"] for o in sb.merchant.orders)
        resources = {"shipstation": ShipStationResource(base_url=sb.shipstation.base_url, api_key=API_KEY,
                                                        api_secret=API_SECRET),
                     "zoho_flow": ShipStationZohoSettings(sync_start=start.replace(year=start.year - 1).isoformat())}
        with dg.build_sensor_context(resources=resources) as context:
            first = shipstation_orders_to_zoho_sensor(context)
        [request] = first.run_requests
        window = request.run_config["ops"]["shipstation__orders_to_zoho"]["config"]
        assert request.run_key.startswith("zoho-orders:")
        assert datetime.fromisoformat(window["modify_date_end"]) >= max(o["modifyDate"] for o in sb.merchant.orders)
        with dg.build_sensor_context(resources=resources, cursor=first.cursor) as context:
            again = shipstation_orders_to_zoho_sensor(context)
        assert not again.run_requests  # one window outstanding per stream


def test_verified_zoho_webhooks_wake_the_contact_sync_once(tmp_path):
    home = tmp_path / "state"
    with WebhookStore(queue_path(home)) as store:
        now = time.time()
        store.add(WebhookEvent(now, "ORDER_NOTIFY", "https://ssapi.shipstation.com/orders?x=1", "v1", "{}"))
        for n in range(3):
            store.add(WebhookEvent(now + n, "ZOHO_CONTACT", f"zoho:contact/{n}", "v1", "{}"))
    resources = {"state": StateResource(home=str(home))}
    with dg.build_sensor_context(resources=resources) as context:
        woke = zoho_contacts_webhook_sensor(context)
    [request] = woke.run_requests
    since = request.run_config["ops"]["zoho_books__contacts_from_zoho"]["config"]["modified_since"]
    assert datetime.fromisoformat(since) <= datetime.fromtimestamp(now, UTC)  # polls from before the first event
    with dg.build_sensor_context(resources=resources, cursor=woke.cursor) as context:
        assert not zoho_contacts_webhook_sensor(context).run_requests  # drained: never twice
