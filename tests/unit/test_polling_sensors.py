"""The ShipStation polling sensors on a real instance: a failed window is asked again, a success moves on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from pipelines import polling
from pipelines.shipstation_tally.sensors import shipstation_orders_sensor, shipstation_shipments_sensor
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from resources import ShipStationResource

SYNC_START = datetime(2026, 1, 1, tzinfo=UTC)


class FakeClient:
    def __init__(self, newest: dict[str, datetime | None]) -> None:
        self.newest = newest

    def __enter__(self) -> FakeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def latest_modify_date(self, since: datetime) -> datetime | None:
        return self.newest.get("modify")

    def newest_shipment_date(self, since: datetime, by: str) -> datetime | None:
        return self.newest.get(by)


class FakeShipStation(ShipStationResource):
    newest: dict[str, str] = {}

    def client(self) -> FakeClient:
        return FakeClient({k: datetime.fromisoformat(v) for k, v in self.newest.items()})


@dg.op
def ok() -> None:
    pass


@dg.op
def boom() -> None:
    raise RuntimeError("Tally unreachable")


@dg.job
def passing() -> None:
    ok()


@dg.job
def failing() -> None:
    boom()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(polling, "utcnow", lambda: clock.now)
    return clock


@contextmanager
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def tick(sensor, inst, cursor: str | None, newest: dict[str, datetime]) -> dg.SensorResult:
    resources = {"shipstation": FakeShipStation(api_key="k", api_secret="s",
                                                newest={k: v.isoformat() for k, v in newest.items()}),
                 "flow": ShipStationTallySettings(sync_start=SYNC_START.isoformat())}
    return sensor(dg.build_sensor_context(cursor=cursor, resources=resources, instance=inst))


def run(inst, request: dg.RunRequest, success: bool) -> None:
    job = passing if success else failing
    job.execute_in_process(instance=inst, tags={polling.RUN_KEY_TAG: request.run_key}, raise_on_error=False)


def window_of(request: dg.RunRequest) -> tuple[str, str]:
    config = request.run_config["ops"]["shipstation__orders"]["config"]
    return config["modify_date_start"], config["modify_date_end"]


def test_failed_window_is_asked_again_after_backoff_and_success_opens_the_next(clock):
    t1, t2 = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    with instance() as inst:
        first = tick(shipstation_orders_sensor, inst, None, {"modify": t1})
        [request] = first.run_requests
        assert window_of(request) == (SYNC_START.isoformat(), t1.isoformat())
        waiting = tick(shipstation_orders_sensor, inst, first.cursor, {"modify": t2})
        assert not waiting.run_requests and "queued or running" in waiting.skip_reason.skip_message
        run(inst, request, success=False)
        clock.advance(seconds=30)
        backing_off = tick(shipstation_orders_sensor, inst, first.cursor, {"modify": t2})
        assert not backing_off.run_requests and "asking again after" in backing_off.skip_reason.skip_message
        clock.advance(minutes=3)
        again = tick(shipstation_orders_sensor, inst, backing_off.cursor, {"modify": t2})
        [retry] = again.run_requests
        assert retry.run_key == f"{request.run_key}:retry-1" and window_of(retry) == window_of(request)
        assert retry.tags["ml-connector/attempt"] == "1"
        run(inst, retry, success=True)
        nxt = tick(shipstation_orders_sensor, inst, again.cursor, {"modify": t2})
        [new] = nxt.run_requests
        assert window_of(new) == ((t1 - timedelta(hours=2)).isoformat(), t2.isoformat())
        assert json.loads(nxt.cursor)["streams"]["modify"]["confirmed"] == t1.isoformat()


def test_v1_cursor_is_read_as_the_confirmed_position(clock):
    t0, t1 = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    with instance() as inst:
        result = tick(shipstation_orders_sensor, inst, json.dumps({"v": 1, "modify_date": t0.isoformat()}),
                      {"modify": t1})
        [request] = result.run_requests
        assert window_of(request) == ((t0 - timedelta(hours=2)).isoformat(), t1.isoformat())


def test_shipment_streams_fail_and_retry_independently(clock):
    created, voided = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, 6, tzinfo=UTC)
    newest = {"create": created, "void": voided}
    with instance() as inst:
        first = tick(shipstation_shipments_sensor, inst, None, newest)
        create, void = first.run_requests
        assert create.run_key.endswith(":none") and ":none:" in void.run_key
        run(inst, create, success=True)
        run(inst, void, success=False)
        clock.advance(minutes=3)
        second = tick(shipstation_shipments_sensor, inst, first.cursor, newest)
        [retry] = second.run_requests
        assert retry.run_key == f"{void.run_key}:retry-1"
        streams = json.loads(second.cursor)["streams"]
        assert streams["create"]["confirmed"] == created.isoformat() and streams["void"]["confirmed"] is None
