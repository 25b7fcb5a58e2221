"""The ShipStation side's label polling, shared by every flow reading labels: run config, run keys, the sensor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from pipelines import polling
from pipelines.acumatica_shipstation.sensors import acumatica_labels_sensor
from pipelines.acumatica_shipstation.settings import AcumaticaShipStationSettings
from pipelines.shipstation_tally.sensors import shipstation_shipments_sensor
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from pipelines.shipstation_zoho.settings import ShipStationZohoSettings
from pipelines.shipstation_zoho.shipment_sensors import shipstation_labels_to_zoho_sensor
from pipelines.sides.shipstation.config import orders_by_id
from pipelines.sides.shipstation.labels import (
    LabelsWindowConfig,
    label_sensor,
    labels_of_orders,
    labels_run_config,
    prefixed_keys,
    window_run_config,
)
from pipelines.windows import Window
from state.ledger_queries import Entry
from tests.unit.test_polling_sensors import FakeShipStation, passing

SYNC_START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 2, tzinfo=UTC)
CREATED, VOIDED = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, 6, tzinfo=UTC)


def resources(settings_key: str, settings: dg.ConfigurableResource) -> dict:
    newest = {"create": CREATED.isoformat(), "void": VOIDED.isoformat()}
    return {"shipstation": FakeShipStation(api_key="k", api_secret="s", newest=newest), settings_key: settings}


def op_fields(request: dg.RunRequest) -> dict:
    [op] = request.run_config["ops"].values()
    return op["config"]


def test_config_defaults_to_the_sync_start_and_voids_follow_the_created_window():
    created, voided = LabelsWindowConfig().windows(SYNC_START, NOW)
    assert created == voided == Window(SYNC_START, NOW)
    only_created = LabelsWindowConfig(create_date_start="2026-02-01", create_date_end="2026-02-02")
    assert only_created.windows(SYNC_START, NOW)[1] == Window(datetime(2026, 2, 1, tzinfo=UTC),
                                                              datetime(2026, 2, 2, tzinfo=UTC))
    both = LabelsWindowConfig(create_date_start="2026-02-01", void_date_start="2026-02-03T00:00:00+05:30")
    assert both.windows(SYNC_START, NOW)[1] == Window(datetime(2026, 2, 2, 18, 30, tzinfo=UTC), NOW)


def test_an_inverted_window_is_refused():
    with pytest.raises(ValueError, match="before it starts"):
        LabelsWindowConfig(create_date_start="2026-02-02", create_date_end="2026-02-01").windows(SYNC_START, NOW)


def test_run_config_leaves_the_other_kind_empty():
    window = Window(CREATED, VOIDED)
    config = labels_run_config("op", window, None, NOW)["ops"]["op"]["config"]
    assert config == {"create_date_start": CREATED.isoformat(), "create_date_end": VOIDED.isoformat(),
                      "void_date_start": NOW.isoformat(), "void_date_end": NOW.isoformat()}
    both = window_run_config("op")(CREATED, VOIDED)["ops"]["op"]["config"]
    assert both["void_date_start"] == both["create_date_start"] == CREATED.isoformat()
    assert LabelsWindowConfig(**both).windows(SYNC_START, NOW) == (window, window)


def test_prefixed_keys_name_the_stream_and_the_window():
    assert prefixed_keys("x-labels")("void")(CREATED, VOIDED) == \
        "x-labels:void:20260301T000000.000000Z:20260301T060000.000000Z"


@pytest.mark.parametrize(("sensor", "key", "settings", "op", "first_keys"), [
    (shipstation_shipments_sensor, "flow", ShipStationTallySettings(sync_start=SYNC_START.isoformat()),
     "shipstation__shipments", ("shipstation-shipments:20260101T000000.000000Z-", "shipstation-shipments:none:")),
    (shipstation_labels_to_zoho_sensor, "zoho_flow", ShipStationZohoSettings(sync_start=SYNC_START.isoformat()),
     "shipstation__labels_to_zoho", ("zoho-labels-create:", "zoho-labels-void:")),
    (acumatica_labels_sensor, "acumatica_flow", AcumaticaShipStationSettings(sync_start=SYNC_START.isoformat()),
     "acumatica__shipments_from_shipstation", ("acumatica-labels:create:", "acumatica-labels:void:")),
])
def test_every_pair_polls_labels_with_the_shared_sensor(sensor, key, settings, op, first_keys, monkeypatch):
    """Each pair's label sensor keeps its name and run keys; a first tick asks one run per kind from the sync start."""
    monkeypatch.setattr(polling, "utcnow", lambda: NOW)
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(resources=resources(key, settings), instance=instance)
        result = sensor(context)
    create, void = result.run_requests
    assert create.run_key.startswith(first_keys[0]) and void.run_key.startswith(first_keys[1])
    assert list(create.run_config["ops"]) == [op] == list(void.run_config["ops"])
    assert op_fields(create)["create_date_start"] == SYNC_START.isoformat()
    assert op_fields(create)["create_date_end"] == CREATED.isoformat()
    assert op_fields(create)["void_date_start"] == op_fields(create)["void_date_end"] == NOW.isoformat()
    assert op_fields(void)["void_date_end"] == VOIDED.isoformat()
    assert create.tags["ml-connector/attempt"] == "0"


def test_the_daemon_path_reaches_resources_through_the_context(monkeypatch):
    """A daemon tick calls the sensor with its context only (no resource keywords): it must still poll."""
    monkeypatch.setattr(polling, "utcnow", lambda: NOW)
    sensor = label_sensor("some_labels_sensor", job_name="some_job", op="some_op", settings_key="flow",
                          key_for=prefixed_keys("some-labels"))
    settings = ShipStationTallySettings(sync_start=SYNC_START.isoformat())
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(resources=resources("flow", settings), instance=instance)
        first = sensor.evaluate_tick(context)
        assert [r.run_key.split(":")[1] for r in first.run_requests] == ["create", "void"]
        context = dg.build_sensor_context(resources=resources("flow", settings), instance=instance,
                                          cursor=first.cursor)
        second = sensor.evaluate_tick(context)
    assert not second.run_requests  # both windows' runs still missing (not yet lost): nothing new is asked
    assert "create: a window's run is still queued or running" in second.skip_message


def test_a_confirmed_position_starts_the_next_window_an_overlap_earlier(monkeypatch):
    clock = {"now": NOW}
    monkeypatch.setattr(polling, "utcnow", lambda: clock["now"])
    settings = AcumaticaShipStationSettings(sync_start=SYNC_START.isoformat())
    with dg.instance_for_test() as instance:
        first = acumatica_labels_sensor(dg.build_sensor_context(
            resources=resources("acumatica_flow", settings), instance=instance))
        for request in first.run_requests:  # both windows succeed
            assert passing.execute_in_process(instance=instance, tags={polling.RUN_KEY_TAG: request.run_key}).success
        later = dict(resources("acumatica_flow", settings))
        later["shipstation"] = FakeShipStation(api_key="k", api_secret="s", newest={
            "create": (CREATED + timedelta(days=1)).isoformat(), "void": VOIDED.isoformat()})
        clock["now"] = NOW + timedelta(days=1)
        second = acumatica_labels_sensor(dg.build_sensor_context(resources=later, instance=instance,
                                                                 cursor=first.cursor))
    [create] = second.run_requests
    assert op_fields(create)["create_date_start"] == (CREATED - timedelta(hours=2)).isoformat()


def entry(source_id: str, group_key: str | None = None, detail: dict | None = None) -> Entry:
    return Entry("flow", source_id, "target", f"key-{source_id}", "failed", None, None, None, False, 1, "boom",
                 None, detail or {}, None, None, 0.0, group_key)


def test_replay_configs_reread_orders_by_id_and_labels_by_their_orders():
    entries = [entry("12", group_key="7"), entry("x", group_key=None), entry("13", group_key="7"),
               entry("14", group_key="5", detail={"order_id": 9})]
    assert orders_by_id("orders_op")(entries) == {"ops": {"orders_op": {"config": {"order_ids": [12, 13, 14]}}}}
    assert labels_of_orders("labels_op")(entries) == {"ops": {"labels_op": {"config": {"order_ids": [5, 7]}}}}
    by_detail = labels_of_orders("labels_op", lambda e: e.detail.get("order_id"))
    assert by_detail(entries)["ops"]["labels_op"]["config"]["order_ids"] == [9]
    assert LabelsWindowConfig(**labels_of_orders("op")(entries)["ops"]["op"]["config"]).order_ids == [5, 7]


def test_label_pages_are_read_ahead_on_a_worker_and_staged_in_units_up_to_a_failing_page(tmp_path):
    """Every pair's label staging reads the next page on a worker thread and writes pages a unit at a time;
    a page that cannot be read leaves every page before it staged, and the error goes on."""
    import threading

    from pipelines.sides.shipstation.labels import stage_label_pages
    from state.staging import StagingStore

    store, readers = StagingStore(tmp_path / "staging.duckdb"), set()

    def pages():
        for n in range(3):
            readers.add(threading.current_thread().name)
            yield [{"shipmentId": n * 10 + i, "orderId": 500 + i, "orderNumber": f"WC-{i}", "voided": False,
                    "createDate": "2026-03-02T10:00:00.0000000", "voidDate": None} for i in range(4)]
        raise ConnectionError("page 4: connection reset")

    with pytest.raises(ConnectionError, match="page 4"):
        stage_label_pages(store, "run-1", pages(), datetime(2026, 3, 2, tzinfo=UTC))
    assert sorted(store.staged_shipment_ids("run-1")) == [n * 10 + i for n in range(3) for i in range(4)]
    assert readers and threading.current_thread().name not in readers
    assert stage_label_pages(store, "run-2", iter([]), datetime(2026, 3, 2, tzinfo=UTC)) == 0
