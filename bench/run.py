"""Benchmark: the whole ShipStation -> TallyPrime flow against the sandbox, rate limits off.

Prints, per order count: orders per second through the job, HTTP requests per 1,000 orders on
each side, and the sync process's peak resident memory. The sandbox runs in its own process so
its in-memory merchant does not count against ours.

    python -m bench.run                  # 10,000 and 100,000 orders
    python -m bench.run --orders 2000    # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CHILD = """
import json, resource, sys, time
from ml_connector.config import Settings
from ml_connector.runner import instance_for, run_job
from pipelines.definitions import build_definitions
settings = Settings.from_env()
started = time.perf_counter()
summary = run_job(build_definitions(settings), "shipstation_to_tally", instance_for(settings.state_dir))
elapsed = time.perf_counter() - started
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"success": summary.success, "error": summary.error, "seconds": elapsed, "peak_kb": peak_kb,
                  "created": summary.metric("tally/order_vouchers", "created"),
                  "failed": summary.metric("tally/order_vouchers", "failed"),
                  "read": summary.metric("shipstation/orders", "orders_read")}))
"""


def start_sandbox(orders: int, workdir: Path) -> tuple[subprocess.Popen, dict]:
    ports = workdir / "ports.json"
    proc = subprocess.Popen([sys.executable, "-m", "ml_connector.cli", "sandbox", "--orders", str(orders),
                             "--rate-limit", "0", "--ports-file", str(ports)], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while not ports.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("sandbox did not start")
        time.sleep(0.2)
    time.sleep(0.2)
    return proc, json.loads(ports.read_text())


def measure(orders: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="mlc-bench-") as tmp:
        work = Path(tmp)
        proc, ports = start_sandbox(orders, work)
        try:
            for url in (ports["shipstation"], ports["tally"]):
                httpx.post(f"{url}/__sandbox/reset-stats", timeout=30)
            env = os.environ | ports["env"] | {"ML_CONNECTOR_HOME": str(work / "state"),
                                               "DAGSTER_HOME": str(work / "state" / "dagster")}
            out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            ss = httpx.get(f"{ports['shipstation']}/__sandbox/stats", timeout=30).json()
            tally = httpx.get(f"{ports['tally']}/__sandbox/stats", timeout=30).json()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {"orders": orders, **result, "shipstation_requests": ss["requests"],
            "tally_requests": tally.get("requests", sum(tally.get("by_kind", {}).values()))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, action="append", help="order counts (default 10000 and 100000)")
    counts = parser.parse_args().orders or [10_000, 100_000]
    print(f"{'orders':>8} {'seconds':>8} {'orders/s':>9} {'SS req/1k':>10} {'Tally req/1k':>13} {'peak MB':>8}")
    for n in counts:
        r = measure(n)
        if not r["success"]:
            print(f"{n:>8} run failed: {r['error']}")
            continue
        print(f"{n:>8} {r['seconds']:>8.1f} {r['read'] / r['seconds']:>9.1f} "
              f"{r['shipstation_requests'] * 1000 / n:>10.1f} {r['tally_requests'] * 1000 / n:>13.1f} "
              f"{r['peak_kb'] / 1024:>8.1f}")


if __name__ == "__main__":
    main()
