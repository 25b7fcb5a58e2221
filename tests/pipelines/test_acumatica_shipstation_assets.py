"""The pair's Dagster jobs end to end: the ShipStation V1 simulator and the Acumatica double, both served over
HTTP on loopback, jobs run in process on a real instance; the pair's definitions load."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from pipelines.acumatica_shipstation import definitions as pair
from pipelines.acumatica_shipstation.flows import FLOWS
from pipelines.acumatica_shipstation.settings import AcumaticaShipStationFlowSettings, AcumaticaShipStationSettings
from resources import AcumaticaResource, ShipStationResource, ShipStationV2Resource, StateResource
from sandbox.runner import serve
from sandbox.shipstation.app import create_app
from sandbox.shipstation.state import ShipStationState
from tests.pipelines.test_acumatica_shipstation_flow import sales_order
from tests.unit.test_acumatica_fake import FakeAcumatica, asgi_app

KEY, SECRET = "jobs-key", "jobs-secret"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    ticks = iter(range(1, 1_000_000))
    state = ShipStationState(now=lambda: datetime(2026, 3, 2, 17, tzinfo=UTC) + timedelta(seconds=next(ticks)))
    ss = serve(create_app(state, credentials={KEY: SECRET}, rate_limit=0, webhook_drop_rate=0.0))
    fake = FakeAcumatica(max_sessions=1)
    fake.add("StockItem", {"InventoryID": "TEA-GRN", "ItemStatus": "Active", "DimensionWeight": "0.5",
                           "WeightUOM": "LB"})
    acu = serve(asgi_app(fake))
    monkeypatch.setenv("ACUMATICA_PASSWORD", "secret")
    flow = AcumaticaShipStationFlowSettings(fulfil_on="label")
    parts = pair.definitions(flow)
    defs = dg.Definitions(assets=parts.assets, jobs=parts.jobs, sensors=parts.sensors, schedules=parts.schedules,
                          resources={
                              "acumatica": AcumaticaResource(url=acu.base_url, username="admin", tenant="Acme"),
                              "shipstation": ShipStationResource(base_url=ss.base_url, api_key=KEY, api_secret=SECRET),
                              "shipstation_v2": ShipStationV2Resource(base_url="http://127.0.0.1:9", api_key=""),
                              "state": StateResource(home=str(tmp_path / "state")),
                              **parts.resources})
    with dg.instance_for_test() as instance:
        yield defs, instance, fake, state
    ss.stop()
    acu.stop()


def test_orders_then_shipments_jobs_run_end_to_end_and_leave_no_session(served) -> None:
    defs, instance, fake, ss_state = served
    fake.add("SalesOrder", sales_order("SO000901", lines=[(1, "TEA-GRN", 1)]))
    out = defs.resolve_job_def("acumatica_to_shipstation").execute_in_process(instance=instance)
    assert out.success and fake.sessions == {}
    [order] = [o for o in ss_state.orders.values() if o["orderKey"] == "SO000901"]
    label = ss_state.create_label(order["orderId"])
    window = {"create_date_start": "2026-01-01T00:00:00+00:00", "create_date_end": "2027-01-01T00:00:00+00:00"}
    back = defs.resolve_job_def("shipments_to_acumatica").execute_in_process(
        instance=instance, run_config={"ops": {"acumatica__shipments_from_shipstation": {"config": window}}})
    assert back.success and fake.sessions == {} and fake.logins == fake.logouts
    [shipment] = fake.shipments()
    assert shipment["Packages"][0]["TrackingNbr"] == label["trackingNumber"] and shipment["Status"] == "Confirmed"
    events = instance.get_latest_materialization_event(dg.AssetKey(["acumatica", "shipment_confirmations"]))
    assert events.asset_materialization.metadata["created"].value == 1


def test_the_flows_name_jobs_the_definitions_hold(served) -> None:
    defs, *_ = served
    assert {f.name for f in FLOWS} >= {"acumatica-to-shipstation", "shipments-to-acumatica"}
    for flow in FLOWS:
        assert defs.resolve_job_def(flow.job) is not None
    assert AcumaticaShipStationSettings.from_settings(AcumaticaShipStationFlowSettings()).inbound().fulfil_on \
        == "carrier_scan"


def test_the_orders_sensor_asks_for_a_window_only_when_acumatica_has_news(served) -> None:
    from pipelines.acumatica_shipstation.sensors import acumatica_orders_sensor

    defs, instance, fake, _ = served
    resources = {"acumatica": defs.resources["acumatica"], "acumatica_flow": defs.resources["acumatica_flow"]}
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        quiet = acumatica_orders_sensor(context)
    assert not quiet.run_requests and fake.sessions == {}
    fake.add("SalesOrder", sales_order("SO000950", lines=[(1, "TEA-GRN", 1)]))
    with dg.build_sensor_context(instance=instance, resources=resources) as context:
        news = acumatica_orders_sensor(context)
    [request] = news.run_requests
    assert request.run_key.startswith("acumatica-orders:") and fake.sessions == {}
    config = request.run_config["ops"]["shipstation__orders_from_acumatica"]["config"]
    assert config["modified_start"].startswith("2026-01-01")
