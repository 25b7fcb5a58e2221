"""The Walmart polling sensor against the simulator: one window per stream, asked once, cursor kept."""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg
import pytest

from pipelines import polling
from pipelines.walmart_tally.sensors import walmart_orders_sensor
from pipelines.walmart_tally.settings import WalmartTallyFlowSettings, WalmartTallySettings
from resources import StateResource
from sandbox.merchant_walmart import CLIENT_ID, CLIENT_SECRET
from tests.pipelines import test_walmart_tally_flow as flow_tests
from tests.pipelines.test_walmart_tally_flow import WalmartResource, World

world = flow_tests.world  # the same served simulators and Dagster instance as the flow tests


def context(world: World, cursor: str | None = None) -> dg.SensorEvaluationContext:
    flow = WalmartTallySettings.from_settings(
        WalmartTallyFlowSettings(walmart_sync_start=world.merchant.start - timedelta(days=40)), "Asia/Kolkata")
    walmart = WalmartResource(base_url=world.walmart.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    return dg.build_sensor_context(cursor=cursor, resources={"walmart": walmart, "walmart_flow": flow,
                                                             "state": StateResource(home=str(world.home))})


def test_a_tick_asks_one_window_per_stream_and_waits_for_it(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    now = world.merchant.start + timedelta(hours=1)  # the simulator's today
    monkeypatch.setattr(polling, "utcnow", lambda: now)
    first = walmart_orders_sensor(context(world))
    jobs = sorted(r.job_name for r in first.run_requests)
    assert jobs == ["walmart_orders_to_tally", "walmart_returns_to_tally"]
    orders = next(r for r in first.run_requests if r.job_name == "walmart_orders_to_tally")
    window = orders.run_config["ops"]["walmart__orders"]["config"]
    assert window["modified_end"] == now.isoformat() and orders.run_key.startswith("walmart-orders:")
    again = walmart_orders_sensor(context(world, first.cursor))
    assert not again.run_requests  # the first windows' runs have not succeeded: nothing new is asked
    streams = json.loads(again.cursor)["streams"]
    assert set(streams) == {"orders", "returns"} and all(s["outstanding"] for s in streams.values())
