"""Benchmark: webhooks, from ShipStation announcing an order to its voucher in Tally, and receiver throughput.

Latency: the sandbox imports one order at a time (at a random moment); ShipStation's simulator
delivers ORDER_NOTIFY after its usual 1-4 s; the receiver (`ml-connector webhooks serve`, its own
process) stores it; a loop evaluates `shipstation_webhook_sensor` every `--interval` seconds (as
the Dagster daemon would) and executes the runs it asks for; we time until the voucher is in Tally.
Throughput: a burst of `--burst` deliveries at once, counted as stored per second.

    python -m bench.webhooks                      # 20 orders, 10 s sensor interval, burst of 2,000
    python -m bench.webhooks --orders 5 --burst 500
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import dagster as dg
import httpx

from bench.webhook_load import deliver_burst
from ml_connector.config import Settings
from ml_connector.runner import instance_for, run_job
from ml_connector.webhooks.app import target_url
from pipelines.definitions import build_definitions, build_resources
from pipelines.shipstation_tally.queue_sensors import shipstation_webhook_sensor
from sandbox.stack import API_KEY, API_SECRET, start_sandbox
from state.webhook_queue import WebhookStore, queue_path


def start_receiver(env: dict[str, str], port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "ml_connector.cli", "webhooks", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the webhook receiver did not start")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SensorLoop(threading.Thread):
    """Ticks the webhook sensor every `interval` seconds and runs what it asks for (one thread only)."""

    def __init__(self, settings: Settings, interval: float) -> None:
        super().__init__(daemon=True)
        self.settings, self.interval, self.stop = settings, interval, threading.Event()
        self.cursor: str | None = None

    def run(self) -> None:
        defs, instance = build_definitions(self.settings), instance_for(self.settings.state_dir)
        resources = build_resources(self.settings)
        while not self.stop.wait(self.interval):
            result = shipstation_webhook_sensor(dg.build_sensor_context(cursor=self.cursor, resources=resources))
            self.cursor = result.cursor or self.cursor
            for request in result.run_requests or []:
                run_job(defs, request.job_name, instance, request.run_config)


def voucher_present(sandbox, order_id: int) -> bool:
    marker = f"[ext:ss-order-{order_id}]"
    return any(marker in (v.get("narration") or "") for v in sandbox.vouchers())


def latency(orders: int, interval: float, home: Path) -> list[float]:
    with start_sandbox(seed=5, orders=60, rate_limit=40) as sandbox:
        secret, port = secrets.token_urlsafe(24), free_port()
        env = os.environ | sandbox.env() | {"ML_CONNECTOR_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
                                            "WEBHOOK_SECRET": secret, "WEBHOOK_PORT": str(port)}
        os.environ.update(env)
        receiver = start_receiver(env, port)
        try:
            settings = Settings.from_env()
            run_job(build_definitions(settings), "shipstation_to_tally", instance_for(settings.state_dir))
            from connectors.shipstation.client import ShipStationClient

            with ShipStationClient(base_url=sandbox.shipstation.base_url, api_key=API_KEY,
                                   api_secret=API_SECRET) as client:
                client.subscribe_webhook(target_url(f"http://127.0.0.1:{port}", secret, None), "ORDER_NOTIFY")
            httpx.post(f"{sandbox.shipstation.base_url}/__sandbox/webhooks/config",
                       json={"delay_min": 1.0, "delay_max": 4.0, "drop_rate": 0.0, "seed": 1})
            loop = SensorLoop(settings, interval)
            loop.start()
            rng, seconds = random.Random(3), []
            for _ in range(orders):
                time.sleep(rng.uniform(0, interval))  # a random phase against the sensor's ticks
                started = time.monotonic()
                [order_id] = sandbox.import_orders(1)["orderIds"]
                while not voucher_present(sandbox, order_id):
                    if time.monotonic() - started > 120:
                        raise RuntimeError(f"order {order_id} never reached Tally")
                    time.sleep(0.1)
                seconds.append(time.monotonic() - started)
                print(f"  order {order_id}: {seconds[-1]:.1f} s", flush=True)
            loop.stop.set()
            loop.join(timeout=interval + 60)
            return seconds
        finally:
            receiver.kill()


def throughput(burst: int, home: Path) -> tuple[float, int]:
    secret, port = secrets.token_urlsafe(24), free_port()
    base = "https://ssapi.shipstation.com"
    env = os.environ | {"ML_CONNECTOR_HOME": str(home), "WEBHOOK_SECRET": secret, "WEBHOOK_PORT": str(port),
                        "SHIPSTATION_BASE_URL": base}
    receiver = start_receiver(env, port)
    try:
        bodies = [json.dumps({"resource_url": f"{base}/orders?storeID=1&importBatch={n}",
                              "resource_type": "ORDER_NOTIFY"}).encode() for n in range(burst)]
        started = time.perf_counter()
        results = deliver_burst(target_url(f"http://127.0.0.1:{port}", secret, None), bodies, concurrency=200)
        elapsed = time.perf_counter() - started
    finally:
        receiver.kill()
    with WebhookStore(queue_path(home)) as store:
        stored = store.count()
    ok = sum(1 for status, _ in results if status == 200)
    if ok != burst or stored != burst:
        raise RuntimeError(f"{ok} answered 200 and {stored} stored of {burst}")
    return burst / elapsed, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument("--interval", type=float, default=10.0, help="webhook sensor interval, seconds")
    parser.add_argument("--burst", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rate, stored = throughput(args.burst, Path(tmp) / "burst")
        print(f"receiver: {stored} webhooks stored durably at {rate:,.0f} per second (burst of {args.burst})")
        seconds = latency(args.orders, args.interval, Path(tmp) / "latency")
    cuts = statistics.quantiles(seconds, n=20, method="inclusive")
    print(f"webhook -> voucher, sensor every {args.interval:g} s, ShipStation delivering after 1-4 s: "
          f"median {statistics.median(seconds):.1f} s, p95 {cuts[18]:.1f} s, max {max(seconds):.1f} s "
          f"({len(seconds)} orders)")


if __name__ == "__main__":
    main()
