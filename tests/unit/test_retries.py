"""Transient failures retry themselves, bounded and with backoff; permanent ones stay failed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from pipelines import polling
from pipelines.polling import RUN_KEY_TAG, Backoff, RunState
from pipelines.retries import Asked, RetrySpec, due, plan, retry_key
from pipelines.shipstation_tally import posting, shipments
from pipelines.shipstation_tally.flows import labels_of_orders, orders_by_id
from pipelines.shipstation_tally.retry_sensors import transient_retry_sensor
from resources import StateResource
from state.ledger import Candidate, Entry, SyncLedger, current_owner

TARGET = "tally"
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SPEC = RetrySpec("orders", posting.FLOW, dg.define_asset_job("j"), orders_by_id, max_attempts=3,
                 backoff=Backoff(base=timedelta(minutes=2), cap=timedelta(hours=1)))


def entry(sid: str, attempts: int = 1, age: timedelta = timedelta(hours=1), group: str | None = None) -> Entry:
    return Entry(posting.FLOW, sid, TARGET, f"k{sid}", "failed", "create", None, None, False, attempts,
                 "not posted: connection refused", None, {}, None, None, (NOW - age).timestamp(), group,
                 "transient")


def test_backoff_grows_with_attempts_from_the_last_update():
    fresh, older, tried = entry("1", age=timedelta(minutes=1)), entry("2", age=timedelta(minutes=3)), entry(
        "3", attempts=3, age=timedelta(minutes=7))
    assert [e.source_id for e in due([fresh, older, tried], NOW, SPEC.backoff)] == ["2"]
    assert [e.source_id for e in due([tried], NOW + timedelta(minutes=2), SPEC.backoff)] == ["3"]


def test_run_keys_come_from_the_records_and_their_attempts():
    assert retry_key("orders", [entry("2"), entry("1")]) == retry_key("orders", [entry("1"), entry("2")])
    assert retry_key("orders", [entry("1")]) != retry_key("orders", [entry("1", attempts=2)])


def test_plan_asks_once_per_record_set_and_again_only_after_a_failed_run():
    ready = [entry("1"), entry("2")]
    ask, _ = plan(SPEC, None, RunState("missing"), ready, NOW)
    assert ask == Asked(retry_key("orders", ready), 0, NOW)
    assert plan(SPEC, ask, RunState("in_flight"), ready, NOW)[0] is None
    assert plan(SPEC, ask, RunState("success"), ready, NOW)[0] is None  # same records, same attempts
    failed = RunState("failure", NOW + timedelta(minutes=1))
    assert plan(SPEC, ask, failed, ready, NOW + timedelta(minutes=2))[0] is None  # backing off
    again, _ = plan(SPEC, ask, failed, ready, NOW + timedelta(minutes=4))
    assert again.run_key == f"{ask.key}:retry-1"
    last = Asked(ask.key, SPEC.max_attempts - 1, NOW)
    assert plan(SPEC, last, failed, ready, NOW + timedelta(days=1))[0] is None  # bounded
    moved_on = [entry("1", attempts=2), entry("2", attempts=2)]
    assert plan(SPEC, ask, failed, moved_on, NOW + timedelta(minutes=4))[0].key == retry_key("orders", moved_on)


def test_configs_re_read_orders_by_id_and_shipments_by_their_order():
    assert orders_by_id([entry("7"), entry("3")]) == {
        "ops": {"shipstation__orders": {"config": {"order_ids": [3, 7]}}}}
    labels = [entry("100", group="7"), entry("101", group="7"), entry("102", group="3")]
    assert labels_of_orders(labels) == {"ops": {"shipstation__shipments": {"config": {"order_ids": [3, 7]}}}}


@pytest.fixture
def home(tmp_path, monkeypatch):
    clock = {"now": datetime.now(UTC)}
    monkeypatch.setattr(polling, "utcnow", lambda: clock["now"])
    return tmp_path, clock


def fail(ledger: SyncLedger, flow: str, sid: str, *, transient: bool, group: str | None = None) -> None:
    ledger.claim(flow, TARGET, [Candidate(sid, f"k{sid}", "h", group_key=group)], current_owner("r"))
    if transient:
        ledger.release(flow, TARGET, [sid], "not posted: Tally unreachable")
    else:
        ledger.record_failed(flow, TARGET, [(sid, "unknown ledger 'X'", None)])


@dg.op
def boom() -> None:
    raise RuntimeError("Tally still down")


@dg.job
def failing() -> None:
    boom()


def test_sensor_retries_transient_failures_of_both_flows_and_leaves_permanent_ones(home):
    path, clock = home
    ledger = SyncLedger(path / "ledger.sqlite3")
    fail(ledger, posting.FLOW, "11", transient=True)
    fail(ledger, posting.FLOW, "12", transient=False)
    fail(ledger, shipments.FLOW, "900", transient=True, group="11")
    resources = {"state": StateResource(home=str(path))}
    with dg.instance_for_test() as inst:
        def tick(cursor):
            return transient_retry_sensor(dg.build_sensor_context(cursor=cursor, resources=resources, instance=inst))

        assert not tick(None).run_requests  # just failed: backing off
        clock["now"] += timedelta(minutes=3)
        first = tick(None)
        orders, labels = first.run_requests
        assert orders.run_config == {"ops": {"shipstation__orders": {"config": {"order_ids": [11]}}}}
        assert labels.run_config == {"ops": {"shipstation__shipments": {"config": {"order_ids": [11]}}}}
        assert not tick(first.cursor).run_requests  # one retry run per flow at a time
        failing.execute_in_process(instance=inst, tags={RUN_KEY_TAG: orders.run_key}, raise_on_error=False)
        time.sleep(0.01)
        clock["now"] += timedelta(minutes=5)
        [again] = tick(first.cursor).run_requests
        assert again.run_key == f"{orders.run_key}:retry-1" and again.job_name == orders.job_name
