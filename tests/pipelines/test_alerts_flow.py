"""Operations alerts against the sandbox: a failed record and a failed run reach the alert webhook once."""

from __future__ import annotations

import json
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
from pipelines.reconciliation.alert_sensors import operations_alerts_sensor, run_failure_alerts
from sandbox.runner import ServedApp, serve


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
