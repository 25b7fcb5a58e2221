"""The distributed rehearsal: a few thousand orders synced by two Celery workers, one killed halfway.

PostgreSQL, Redis, the daemon and two `dagster-celery` workers run as separate processes
(tests/rehearsal/cluster.py). The merchant's orders are split into modifyDate windows, one queued run
each, submitted as the UI submits them; the daemon dequeues them, each run's steps go to whichever
worker is free. Once a step is running on worker w1, w1's whole process group is SIGKILLed. Its task
was not acknowledged, so the broker hands it to w2 after the visibility timeout; the dead worker's
unfinished ledger claims are resolved by looking them up in Tally. At the end every order that should
have a voucher has exactly one in the sandbox's Tally, and the PostgreSQL ledger agrees.

Sized for CI (ML_CONNECTOR_REHEARSAL_ORDERS, default 2,000 orders in 4 windows); `bench/scale.py` runs
bigger ones.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import dagster as dg
import pytest

from merchants.pools import tally_pool
from pipelines.shipstation_tally.posting import FLOW
from pipelines.shipstation_tally.window import Window
from state.ledger import SyncLedger
from tests.postgres.services import pg_url, redis_url
from tests.rehearsal.cluster import Cluster, celery_steps
from tests.rehearsal.world import start_world

ORDERS = int(os.environ.get("ML_CONNECTOR_REHEARSAL_ORDERS", "2000"))
WINDOWS = 4
JOB = "shipstation_to_tally"
FINISHED = (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE)


def windows(world, count: int) -> list[Window]:
    """Consecutive modifyDate windows holding about the same number of orders each, together all of them."""
    dates = sorted(o["modifyDate"] for o in world.sandbox.merchant.orders)
    edges = [dates[0] - _second()] + [dates[len(dates) * k // count] for k in range(1, count)] + [
        dates[-1] + _second()]
    return [Window(edges[k], edges[k + 1] + _second()) for k in range(count)]  # a second of overlap: none missed


def _second():
    from datetime import timedelta

    return timedelta(seconds=1)


def running_on(instance: dg.DagsterInstance, run_ids: list[str], worker: str) -> tuple[str, str] | None:
    """A (run, step) that `worker` has picked up and not finished, if any."""
    for run_id, step, placed_on in celery_steps(instance, run_ids):
        if placed_on != worker:
            continue
        done = {r.dagster_event.step_key for t in FINISHED for r in instance.all_logs(run_id, of_type=t)}
        if step not in done:
            return run_id, step
    return None


@pytest.fixture
def acme():
    world = start_world("acme", seed=21, orders=ORDERS)
    yield world
    world.sandbox.stop()


def test_two_workers_share_the_sync_and_a_killed_one_loses_and_duplicates_nothing(acme, tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch):
    pg, redis = pg_url(), redis_url()
    folder = tmp_path / "merchants"
    acme.merchant_file(folder)
    cluster = Cluster.start(tmp_path, pg_url=pg, redis_url=redis, merchants_dir=folder, merchant_names=["acme"],
                            extra_env=acme.secrets(), visibility_timeout=20)
    try:
        instance = cluster.instance()
        run_ids = cluster.submit([("merchant-acme", JOB, w.run_config(), {"rehearsal/window": str(k)})
                                  for k, w in enumerate(windows(acme, WINDOWS))])
        cluster.wait(instance, run_ids, timeout=300, until=WINDOWS // 2)  # halfway
        deadline = time.monotonic() + 240
        while (victim := running_on(instance, run_ids, "w1")) is None:  # w1 is in the middle of a step
            cluster.check_alive()
            assert time.monotonic() < deadline, "w1 never picked up a step"
            time.sleep(0.5)
        cluster.kill("w1")
        runs = cluster.wait(instance, run_ids, timeout=400)
        placed = celery_steps(instance, run_ids)
        pools = {step.pool for run_id in run_ids for step in _steps(instance, run_id)}
        monkeypatch.setenv("ML_CONNECTOR_DATABASE_SCHEMA", "acme")  # the merchant's schema, as its processes chose it
        ledger = SyncLedger(tmp_path / "unused", url=cluster.env["ML_CONNECTOR_DATABASE_URL"])
        counts = ledger.counts(FLOW)
        ledger.close()
    finally:
        cluster.stop()

    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * WINDOWS
    assert {w for _, _, w in placed} == {"w1", "w2"}  # the work was split across both workers
    assert [(r, s) for r, s, w in placed if (r, s) == victim] == [victim, victim]  # killed on w1, re-run on w2
    assert [w for r, s, w in placed if (r, s) == victim] == ["w1", "w2"]
    per_order = acme.vouchers_per_order()
    assert set(per_order) == acme.expected()  # nothing lost
    assert set(per_order.values()) == {1}  # nothing duplicated
    assert pools == {None, tally_pool(acme.company)}  # every Tally step in the company's pool
    assert counts.get("posted") == len(acme.expected()) and "pending" not in counts  # the ledger agrees
    print(f"\nrehearsal: {ORDERS} orders, {WINDOWS} runs, steps per worker "
          f"{ {w: sum(1 for *_, x in placed if x == w) for w in ('w1', 'w2')} }, killed {victim[1]} on w1")


def _steps(instance: dg.DagsterInstance, run_id: str):
    run = instance.get_run_by_id(run_id)
    return instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id).steps


def test_each_tally_company_has_one_writer_across_workers_and_companies_write_in_parallel(tmp_path: Path):
    from tests.rehearsal import pool_probe

    pg, redis = pg_url(), redis_url()
    log = tmp_path / "probe.jsonl"
    cluster = Cluster.start(tmp_path, pg_url=pg, redis_url=redis, merchants_dir=tmp_path, merchant_names=[],
                            extra_env={"POOL_PROBE_LOG": str(log)}, per_merchant_runs=1,
                            extra_locations={"pool-probe": "tests.rehearsal.pool_probe"})
    try:
        instance = cluster.instance()
        jobs = [job.name for job in pool_probe.defs.jobs]
        run_ids = cluster.submit([("pool-probe", job, {}, {}) for job in jobs for _ in range(2)])
        runs = cluster.wait(instance, run_ids, timeout=300)
        placed = celery_steps(instance, run_ids)
    finally:
        cluster.stop()

    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * len(run_ids)
    assert {w for *_, w in placed} == {"w1", "w2"}
    writes = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(writes) == 2 * len(pool_probe.COMPANIES) * pool_probe.PROBES
    for company in pool_probe.COMPANIES:
        mine = sorted((w["start"], w["end"]) for w in writes if w["company"] == company)
        gaps = [later[0] - earlier[1] for earlier, later in zip(mine, mine[1:], strict=False)]
        assert min(gaps) >= 0, company  # one writer at a time per company
    alpha, beta = ([(w["start"], w["end"]) for w in writes if w["company"] == c] for c in pool_probe.COMPANIES)
    assert any(a0 < b1 and b0 < a1 for a0, a1 in alpha for b0, b1 in beta)  # two companies at once
