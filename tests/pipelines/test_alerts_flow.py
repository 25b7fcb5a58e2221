"""Operations alerts against the sandbox: a failed record and a failed run reach the alert webhook once."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import dagster as dg
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ml_connector.config import Settings
from ml_connector.runner import instance_for, run_job
from pipelines.definitions import build_definitions, build_resources
from pipelines.reconciliation import alert_sensors
from pipelines.reconciliation.alert_sensors import operations_alerts_sensor, run_failure_alerts
from resources import AlertResource, StateResource
from sandbox.runner import ServedApp, serve
from state.ledger import Candidate, SyncLedger, current_owner


@pytest.fixture
def chat() -> Iterator[tuple[ServedApp, list[dict]]]:
    received: list[dict] = []

    async def hook(request: Request) -> JSONResponse:
        received.append(json.loads(await request.body()))
        return JSONResponse({"ok": True})

    served = serve(Starlette(routes=[Route("/services/T1/B1/token-abc", hook, methods=["POST"])]))
    yield served, received
    served.stop()


def test_a_failed_order_is_alerted_once(env, chat, monkeypatch):
    served, received = chat
    monkeypatch.setenv("ALERT_WEBHOOK_URL", f"{served.base_url}/services/T1/B1/token-abc")
    settings = Settings.from_env()
    assert run_job(build_definitions(settings), "shipstation_to_tally", instance_for(env.home)).success
    resources = build_resources(settings)
    first = operations_alerts_sensor(dg.build_sensor_context(cursor=json.dumps({"ledger": 0, "exceptions": 0}),
                                                             resources=resources))
    [alert] = received
    unknown = env.sandbox.merchant.special["unknown_sku"]
    assert "1 new exception" in alert["text"] and unknown in alert["text"] and "has no stock item" in alert["text"]
    again = operations_alerts_sensor(dg.build_sensor_context(cursor=first.cursor, resources=resources))
    assert len(received) == 1 and "no new exceptions" in again.skip_reason.skip_message


def test_a_failed_run_is_alerted(env, chat, monkeypatch):
    served, received = chat
    monkeypatch.setenv("ALERT_WEBHOOK_URL", f"{served.base_url}/services/T1/B1/token-abc")
    monkeypatch.setenv("TALLY_URL", "http://127.0.0.1:9")  # nothing listens: the Tally steps fail
    settings = Settings.from_env()
    instance = instance_for(env.home)
    summary = run_job(build_definitions(settings), "shipstation_to_tally", instance)
    assert not summary.success
    run = instance.get_run_by_id(summary.run_id)
    failure = next(e for e in instance.all_logs(summary.run_id, of_type=dg.DagsterEventType.RUN_FAILURE))
    context = dg.build_run_status_sensor_context(sensor_name="run_failure_alerts", dagster_instance=instance,
                                                 dagster_run=run, dagster_event=failure.dagster_event,
                                                 resources=build_resources(settings)).for_run_failure()
    run_failure_alerts(context)
    [alert] = received
    assert summary.run_id in alert["text"] and "shipstation_to_tally failed" in alert["text"]


def dead_pid() -> int:
    """The pid of a process that has certainly exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_pending_record_whose_run_died_before_the_last_tick_is_alerted_once(tmp_path, monkeypatch):
    sent: list[str] = []
    monkeypatch.setattr(alert_sensors, "deliver", lambda log, url, text: sent.append(text))
    resources = {"state": StateResource(home=str(tmp_path)), "alerts": AlertResource(webhook_url="")}
    ledger = SyncLedger(tmp_path / "ledger.sqlite3")
    host = socket.gethostname()
    ledger.claim("shipstation_tally.orders", "tally", [Candidate("41", "ss-order-41", "h", detail={
        "order_number": "WC-41"})], f"{host}:{dead_pid()}:dead-run")
    ledger.claim("shipstation_tally.orders", "tally", [Candidate("42", "ss-order-42", "h")], current_owner("live"))
    two_hours_ago = time.time() - 7200
    ledger._conn.execute("UPDATE sync_entries SET claimed_at=?, updated_at=? WHERE source_id='41'",
                         (two_hours_ago, two_hours_ago))
    cursor = json.dumps({"ledger": time.time() - 60, "exceptions": 0})  # the last tick came after the run died
    first = operations_alerts_sensor(dg.build_sensor_context(cursor=cursor, resources=resources))
    [text] = sent
    assert "1 new exception" in text and "WC-41 is stuck pending" in text and "dead-run" in text
    assert "ss-order-42" not in text and "42 is stuck" not in text  # a live run's claim is not stuck
    again = operations_alerts_sensor(dg.build_sensor_context(cursor=first.cursor, resources=resources))
    assert len(sent) == 1 and "no new exceptions" in again.skip_reason.skip_message
    ledger.claim("shipstation_tally.orders", "tally", [Candidate("41", "ss-order-41", "h")],
                 f"{host}:{dead_pid()}:second-dead-run")  # claimed again, and that run died too: a new problem
    operations_alerts_sensor(dg.build_sensor_context(cursor=again.cursor, resources=resources))
    assert len(sent) == 2 and "second-dead-run" in sent[1]
