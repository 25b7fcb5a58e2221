"""Benchmark: many merchants through the distributed deployment (tests/rehearsal/cluster.py).

PostgreSQL, Redis, the daemon and the Celery workers as separate processes; each merchant has its own
sandbox (ShipStation account + Tally company) and its own code location; each merchant's orders go in
one queued run of `shipstation_to_tally`. Prints, per merchants x orders: wall time from submitting the
runs to the last one finishing, orders per second overall (vouchers created / wall time), ShipStation
and Tally requests per 1,000 orders, each worker's peak resident memory, vouchers lost or duplicated
(must be 0), and wall time relative to the first row (growth). A run that fails to start (e.g. its code
server too slow to answer on a loaded machine) is re-run by the daemon (`run_retries`, as in production),
and the merchant's figures are those of its last retry. Wall time depends on what else the
machine runs, so it also prints the CPU seconds spent per 1,000 orders by the daemon with its code
servers and run workers, the Celery workers with their steps, and the simulators (in this process);
PostgreSQL and Redis are not counted. That figure stays flat as the merchants grow if the cost is
linear in them, whatever the load (the column `load` is the 5-minute load average at the end).

Needs ML_CONNECTOR_TEST_PG_URL and ML_CONNECTOR_TEST_REDIS_URL (as `.ci/run` exports them).

    python -m bench.scale                                   # 2, 5, 10, 20 merchants x 10,000 orders
    python -m bench.scale --merchants 2 --merchants 4 --orders 300 --parallel 1

`--parallel` is how many merchants' runs may run at once (default 1; the production shape is more).
Each merchant's code location keeps its assets under its own keys (merchants/keys.py), so merchants in
parallel never read each other's staged orders; the column `lost` would show it if they did.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import httpx

from bench.procs import group_cpu, group_peak_rss_mb
from tests.rehearsal.cluster import Cluster
from tests.rehearsal.world import start_world

JOB = "shipstation_to_tally"


def cpu_seconds(cluster) -> dict[str, float]:
    """CPU seconds so far of this process (the simulators) and of each process group the cluster started."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"sandbox": own.ru_utime + own.ru_stime,
            **{name: group_cpu(proc.pid) for name, proc in cluster.procs.items()}}


def stats(world, system: str) -> dict:
    base = world.sandbox.shipstation.base_url if system == "shipstation" else world.sandbox.tally.base_url
    return httpx.get(f"{base}/__sandbox/stats", timeout=30).json()


def measure(merchants: int, orders: int, parallel: int, workers: int) -> dict:
    worlds = [start_world(f"m{n:02d}", seed=100 + n, orders=orders) for n in range(merchants)]
    try:
        with tempfile.TemporaryDirectory(prefix="ml-scale-") as tmp:
            work = Path(tmp)
            for world in worlds:
                world.merchant_file(work / "merchants")
            secrets = {k: v for world in worlds for k, v in world.secrets().items()}
            cluster = Cluster.start(work, pg_url=os.environ["ML_CONNECTOR_TEST_PG_URL"],
                                    redis_url=os.environ["ML_CONNECTOR_TEST_REDIS_URL"],
                                    merchants_dir=work / "merchants", merchant_names=[w.name for w in worlds],
                                    extra_env=secrets, workers=workers, max_runs=parallel, per_merchant_runs=1,
                                    visibility_timeout=3600)
            try:
                instance = cluster.instance()
                started, cpu_before = time.perf_counter(), cpu_seconds(cluster)
                run_ids = cluster.submit([(f"merchant-{w.name}", JOB, {}, {}) for w in worlds])
                runs = cluster.wait(instance, run_ids, timeout=3600, follow_retries=True)
                seconds = time.perf_counter() - started
                cpu = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_seconds(cluster).items()}
                memory = {name: group_peak_rss_mb(proc.pid) for name, proc in cluster.procs.items() if name != "daemon"}
            finally:
                cluster.stop()
        expected = sum(len(w.expected()) for w in worlds)
        counts = [w.vouchers_per_order() for w in worlds]
        found = sum(len(set(c) & w.expected()) for c, w in zip(counts, worlds, strict=True))
        duplicated = sum(n - 1 for c in counts for n in c.values() if n > 1)
        ss = sum(stats(w, "shipstation").get("requests", 0) for w in worlds)
        tally = sum(stats(w, "tally").get("requests", 0) for w in worlds)
        return {"merchants": merchants, "orders": orders, "seconds": seconds, "vouchers": found,
                "rate": found / seconds, "lost": expected - found, "duplicated": duplicated,
                "failed_runs": sum(1 for r in runs if r.status.value != "SUCCESS"),
                "retried": sum(1 for r, i in zip(runs, run_ids, strict=True) if r.run_id != i),
                "ss_per_k": 1000 * ss / (merchants * orders),
                "tally_per_k": 1000 * tally / (merchants * orders),
                "cpu_per_k": 1000 * sum(cpu.values()) / (merchants * orders), "load": os.getloadavg()[1],
                "cpu": cpu,
                "memory": memory}
    finally:
        for world in worlds:
            world.sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--merchants", type=int, action="append", help="merchant counts (default 2, 5, 10, 20)")
    parser.add_argument("--orders", type=int, default=10_000, help="orders per merchant (default 10,000)")
    parser.add_argument("--parallel", type=int, default=1, help="merchants' runs at once (default 1; see above)")
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (default 2)")
    args = parser.parse_args()
    print(f"{'merchants':>9} {'orders':>7} {'seconds':>8} {'orders/s':>9} {'lost':>5} {'dup':>4} {'failed':>6} "
          f"{'SS req/1k':>10} {'Tally req/1k':>13} {'growth':>7} {'CPU s/1k':>9} {'load':>5}  peak MB per worker")
    first = None
    for merchants in args.merchants or [2, 5, 10, 20]:
        r = measure(merchants, args.orders, args.parallel, args.workers)
        first = first or r["seconds"]
        memory = " ".join(f"{k}={v:.0f}" for k, v in sorted(r["memory"].items()))
        print(f"{r['merchants']:>9} {r['orders']:>7} {r['seconds']:>8.1f} {r['rate']:>9.1f} {r['lost']:>5} "
              f"{r['duplicated']:>4} {r['failed_runs']:>6} {r['ss_per_k']:>10.1f} {r['tally_per_k']:>13.1f} "
              f"{r['seconds'] / first:>6.2f}x {r['cpu_per_k']:>9.1f} {r['load']:>5.1f}  {memory}", flush=True)
        print(f"          runs the daemon retried: {r['retried']}; CPU s by process group: "
              + ", ".join(f"{k}={v:.0f}" for k, v in sorted(r["cpu"].items())), flush=True)


if __name__ == "__main__":
    main()
