"""Exactly once under crashes and concurrency, the tally pool, the sensor, definitions validation."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import dagster as dg
import httpx

from ml_connector.runner import instance_for, run_job
from pipelines.definitions import build_definitions
from pipelines.shipstation_tally.posting import FLOW
from pipelines.shipstation_tally.sensors import shipstation_orders_sensor
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from resources import ShipStationResource
from state.ledger import SyncLedger
from tests.pipelines.conftest import JOB, expected_orders

SYNC = [sys.executable, "-m", "ml_connector.cli", "sync", "shipstation-to-tally"]


def set_import_delay(env, seconds: float) -> None:
    httpx.post(f"{env.sandbox.tally.base_url}/__sandbox/import-delay", json={"seconds": seconds}, timeout=10)


def wait_for(predicate, timeout: float = 120.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_kill_mid_run_then_rerun_leaves_exactly_one_voucher_per_order(env):
    set_import_delay(env, 1.0)  # Tally commits, then answers late: the kill lands in between
    proc = subprocess.Popen(SYNC, env=env.vars, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(env.order_vouchers()) > 0, what="the first order vouchers")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert 0 < len(env.order_vouchers()) < len(expected_orders(env.sandbox))
    ledger = SyncLedger(env.home / "ledger.sqlite3")
    assert ledger.counts(FLOW).get("pending", 0) > 0  # the killed run left its claims open
    set_import_delay(env, 0.0)
    summary = env.run()
    assert summary.success, summary.error
    assert summary.metric("tally/order_vouchers", "resolved_after_crash") > 0
    per_order = env.vouchers_per_order()
    assert set(per_order) == set(expected_orders(env.sandbox))
    assert set(per_order.values()) == {1}
    assert ledger.counts(FLOW).get("pending", 0) == 0


def test_two_runs_started_together_leave_one_voucher_per_order(env):
    procs = [subprocess.Popen(SYNC, env=env.vars, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all("succeeded" in out for out in outputs), outputs
    per_order = env.vouchers_per_order()
    assert set(per_order) == set(expected_orders(env.sandbox))
    assert set(per_order.values()) == {1}


POOL_RUN = """
import sys
import dagster as dg
from ml_connector.config import Settings
from pipelines.definitions import build_definitions
with dg.instance_for_test(overrides={"concurrency": {"pools": {"default_limit": 1}}}, temp_dir=sys.argv[1]) as inst:
    job = build_definitions(Settings.from_env()).resolve_job_def(JOB)
    sys.exit(0 if job.execute_in_process(instance=inst, raise_on_error=False).success else 1)
""".replace("JOB", repr(JOB))


def test_tally_pool_lets_one_tally_step_run_at_a_time(env, tmp_path):
    shared = tmp_path / "instance"
    shared.mkdir()
    overrides = {"concurrency": {"pools": {"default_limit": 1}}}
    with dg.instance_for_test(overrides=overrides, temp_dir=str(shared)) as instance:
        procs = [subprocess.Popen([sys.executable, "-c", POOL_RUN, str(shared)], env=env.vars) for _ in range(2)]
        assert [p.wait(timeout=300) for p in procs] == [0, 0]
        runs = instance.get_runs()
        assert len(runs) == 2
        spans = sorted(span for run in runs for span in tally_step_spans(instance, run.run_id))
        assert len(spans) == 6  # three tally steps per run
        assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False))


def tally_step_spans(instance: dg.DagsterInstance, run_id: str) -> list[tuple[float, float]]:
    starts, ends = {}, {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or not event.step_key or not event.step_key.startswith("tally"):
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            ends[event.step_key] = record.timestamp
    return [(starts[k], ends[k]) for k in starts]


def test_sensor_requests_one_run_per_new_window(env):
    settings = env.settings()
    resources = {
        "shipstation": ShipStationResource(base_url=settings.shipstation_base_url, api_key="sandbox-api-key",
                                           api_secret="sandbox-api-secret"),
        "flow": ShipStationTallySettings(sync_start=settings.shipstation_sync_start.isoformat()),
    }
    first = shipstation_orders_sensor(dg.build_sensor_context(cursor=None, resources=resources))
    [request] = first.run_requests
    cursor = json.loads(first.cursor)
    assert cursor["v"] == 2 and request.run_key.startswith("shipstation-orders:")
    window = request.run_config["ops"]["shipstation__orders"]["config"]
    assert window["modify_date_start"] == settings.shipstation_sync_start.isoformat()
    idle = shipstation_orders_sensor(dg.build_sensor_context(cursor=first.cursor, resources=resources))
    assert not idle.run_requests and idle.skip_reason  # the window asked for first is still outstanding
    env.sandbox.advance()
    instance = instance_for(env.home)  # the next window opens once the first one's run succeeded
    tags = {"dagster/run_key": request.run_key}
    assert run_job(build_definitions(settings), JOB, instance, request.run_config, tags).success
    second = shipstation_orders_sensor(dg.build_sensor_context(cursor=first.cursor, resources=resources,
                                                               instance=instance))
    [next_request] = second.run_requests
    assert next_request.run_key != request.run_key
    start = next_request.run_config["ops"]["shipstation__orders"]["config"]["modify_date_start"]
    confirmed = json.loads(second.cursor)["streams"]["modify"]["confirmed"]
    assert start < confirmed == window["modify_date_end"]  # the window overlaps what was already read


def test_dagster_definitions_validate(env):
    vars_ = {k: v for k, v in env.vars.items() if not k.startswith(("SHIPSTATION_API", "TALLY_AGENT", "DAGSTER_HOME"))}
    out = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-m", "pipelines.definitions"],
                         env=vars_, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
