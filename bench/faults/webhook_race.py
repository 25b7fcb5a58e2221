"""A webhook-driven run racing a polling run (ShipStation -> TallyPrime).

`receiver(world)` serves our webhook receiver on the world's state directory and subscribes it to
ShipStation's ORDER_NOTIFY; new orders then arrive as stored events. `python -m bench.faults.webhook_race`
is the other racer: one tick of the webhook sensor and the runs it asks for, in a process of its own,
as the Dagster daemon would run them, while `ml-connector sync` polls the same orders.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bench.faults.world import World
from connectors.shipstation.client import ShipStationClient
from ml_connector.webhooks.app import create_receiver_app, target_url
from sandbox.runner import serve
from sandbox.stack import API_KEY, API_SECRET
from state.webhook_queue import WebhookStore, queue_path

SECRET = "fault-harness-webhook-secret-0123456789"
DRAIN = [sys.executable, "-m", "bench.faults.webhook_race"]


@contextmanager
def receiver(world: World) -> Iterator[None]:
    """Our receiver on the world's queue, subscribed to ORDER_NOTIFY, deliveries prompt and never dropped."""
    shipstation, proxied = world.sandbox_url("shipstation"), world.proxies["shipstation"].base_url
    # The events' resource_urls name the host our sync is configured with: ShipStation behind its proxy.
    world.sandbox.shipstation.app.state.webhooks.base_url = proxied
    store = WebhookStore(queue_path(world.home))
    served = serve(create_receiver_app(store=store, secret=SECRET, secret_header=None,
                                       shipstation_base_url=proxied, jwks=None))
    try:
        httpx.post(f"{shipstation}/__sandbox/webhooks/config", timeout=10,
                   json={"delay_min": 0.0, "delay_max": 0.05, "drop_rate": 0.0, "seed": 1}).raise_for_status()
        with ShipStationClient(base_url=shipstation, api_key=API_KEY, api_secret=API_SECRET) as client:
            client.subscribe_webhook(target_url(served.base_url, SECRET, None), "ORDER_NOTIFY")
        yield
    finally:
        served.stop()
        store.close()


def wait_for_events(world: World, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with WebhookStore(queue_path(world.home)) as store:
            if store.count() >= count:
                return
        if time.monotonic() > deadline:
            raise TimeoutError("the webhook never reached the queue")
        time.sleep(0.05)


def drain() -> int:
    """One webhook-sensor tick and each run it asks for (this process is the daemon's stand-in)."""
    import dagster as dg

    from ml_connector.config import Settings
    from ml_connector.runner import instance_for, run_job
    from pipelines.definitions import build_definitions, build_resources
    from pipelines.shipstation_tally.queue_sensors import shipstation_webhook_sensor

    settings = Settings.from_env()
    result = shipstation_webhook_sensor(dg.build_sensor_context(cursor=None, resources=build_resources(settings)))
    defs, instance = build_definitions(settings), instance_for(settings.state_dir)
    ok = True
    for request in result.run_requests:
        summary = run_job(defs, request.job_name, instance, request.run_config)
        print(f"webhook run {summary.run_id} {'succeeded' if summary.success else 'FAILED'}")
        ok = ok and summary.success
    return 0 if ok and result.run_requests else 1


if __name__ == "__main__":
    sys.exit(drain())
