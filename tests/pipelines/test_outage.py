"""TallyPrime down for six (simulated) hours while orders and labels keep arriving, then back.

The polling and retry sensors tick in a loop on a persistent instance, with a clock moved an hour
per tick; every run they ask for is executed in process under its run key. While Tally refuses
connections every run fails and its window stays asked for; once Tally is back, the sensors alone
bring everything across: each order has exactly one voucher, each label one Delivery Note.
"""

from __future__ import annotations

import socket
from collections import Counter
from datetime import UTC, datetime, timedelta

import dagster as dg

from ml_connector.config import Settings
from ml_connector.runner import instance_for, run_job
from pipelines import polling
from pipelines.definitions import build_definitions, build_resources
from pipelines.shipstation_tally import posting, shipments
from pipelines.shipstation_tally.retry_sensors import transient_retry_sensor
from pipelines.shipstation_tally.sensors import shipstation_orders_sensor, shipstation_shipments_sensor
from state.ledger import SyncLedger
from tests.pipelines.conftest import expected_orders
from tests.pipelines.test_shipments_flow import active_notes_per_shipment, postable

SENSORS = (shipstation_orders_sensor, shipstation_shipments_sensor, transient_retry_sensor)
OUTAGE_HOURS = 6


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Loop:
    """Ticks every sensor and runs what they ask for, on one instance, with a movable clock."""

    def __init__(self, env, monkeypatch) -> None:
        self.env, self.instance = env, instance_for(env.home)
        self.offset, self.cursors, self.outcomes = timedelta(0), {s.name: None for s in SENSORS}, Counter()
        self.run_keys: list[str] = []
        monkeypatch.setattr(polling, "utcnow", lambda: datetime.now(UTC) + self.offset)
        self.up = env.settings()
        self.down = Settings.from_env(env.vars | {"TALLY_URL": closed_port_url()})
        self.resources = build_resources(self.up)

    def tick(self, tally_up: bool) -> int:
        """One sensor round an hour later; the number of runs asked for."""
        self.offset += timedelta(hours=1)
        defs = build_definitions(self.up if tally_up else self.down)
        asked = 0
        for sensor in SENSORS:
            context = dg.build_sensor_context(cursor=self.cursors[sensor.name], instance=self.instance,
                                              resources=self.resources)
            result = sensor(context)
            self.cursors[sensor.name] = result.cursor
            for request in result.run_requests or []:
                job = request.job_name or sensor.job_name
                tags = {**request.tags, polling.RUN_KEY_TAG: request.run_key}
                summary = run_job(defs, job, self.instance, request.run_config, tags)
                self.outcomes[(tally_up, summary.success)] += 1
                self.run_keys.append(request.run_key)
                asked += 1
        return asked


def test_six_hours_without_tally_then_every_record_posts_exactly_once(env, monkeypatch):
    sandbox, loop = env.sandbox, Loop(env, monkeypatch)
    new_orders, labels = [], []
    for _ in range(OUTAGE_HOURS):
        imported = sandbox.import_orders(2)["orderIds"]
        new_orders += imported
        labels.append(sandbox.ship(imported[0])["shipmentId"])
        loop.tick(tally_up=False)
    assert loop.outcomes[(False, True)] == 0 and loop.outcomes[(False, False)] > 0
    assert not [v for v in sandbox.vouchers() if v["type"] in ("Sales Order", "Delivery Note")]
    quiet = 0
    for _ in range(12):
        quiet = quiet + 1 if loop.tick(tally_up=True) == 0 else 0
        if quiet == 2:
            break
    assert quiet == 2, "the sensors never went quiet"
    assert any(":retry-" in key for key in loop.run_keys)  # the failed windows were asked again
    per_order = env.vouchers_per_order()
    wanted = set(expected_orders(sandbox)) | {f"ss-order-{i}" for i in new_orders}
    assert wanted <= set(per_order) and set(per_order.values()) == {1}
    per_label = active_notes_per_shipment(env)
    wanted_labels = {f"ss-shipment-{s['shipmentId']}" for s in postable(env)} | {f"ss-shipment-{i}" for i in labels}
    assert wanted_labels <= set(per_label) and set(per_label.values()) == {1}
    ledger = SyncLedger(env.home / "ledger.sqlite3")
    assert not ledger.transient_failures(posting.FLOW, 99) and not ledger.transient_failures(shipments.FLOW, 99)
    assert {ledger.get(posting.FLOW, str(i), "tally").state for i in new_orders} == {"posted"}
    assert {ledger.get(shipments.FLOW, str(i), "tally").state for i in labels} == {"posted"}
