"""Benchmark: the whole ShipStation -> TallyPrime flow against the sandbox, rate limits off.

Prints, per order count and TallyPrime cost mode: orders per second through the job, CPU seconds
per 1,000 orders of the sync process and of the sandbox (both simulators, during the job only:
figures that hold on a loaded machine, where wall-clock ones do not), TallyPrime exports and
imports per 1,000 orders, ShipStation requests per 1,000 orders, the vouchers the simulator walked
for exports, and the sync process's peak resident memory (`peak MB`) beside its peak before the
job began (`loaded MB`: imports, the code location's definitions and the Dagster instance), so what
the run itself adds is the difference; a sync process that loaded pandas is flagged (it should not).
Two load-independent figures beside them: `model s/1k`, the seconds the simulator's cost model
waited per 1,000 orders (walks and imported objects; sleeps, not CPU), and `serial/s`, 1,000 /
(sync CPU + helper CPU + sandbox CPU + model seconds per 1,000): the orders per second if the two processes took
turns on one otherwise idle core (a quiet 2-core machine does somewhat better, as the two overlap a
little). Then, per mode, the largest run's orders per second as a share of the smallest's (issue
15's target: at least 80%), measured and serial. The sandbox runs in its
own process so its in-memory merchant does not count against ours.

Cost modes (the simulator's `SANDBOX_TALLY_COST`): `off`, and `pessimistic`, where every export
walks every voucher of the company at 10 µs each and every imported object costs 0.2 ms: roughly
what the 10,000-order measurement of issue 15 saw (exports 23 ms growing to 107 ms).

    python -m bench.run                            # 10,000, 50,000, 100,000 orders; both modes
    python -m bench.run --orders 2000 --mode off   # a quick look
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
import json, os, resource, sys, time
if os.environ.get("BENCH_RSS_SAMPLES"):  # resident size every half second, with the innermost of our frames
    import atexit, threading
    samples, main = [], threading.main_thread()
    def _ours():
        frame = sys._current_frames().get(main.ident)
        while frame is not None and any(lib in frame.f_code.co_filename for lib in ("/.venv/", "/lib/python")):
            frame = frame.f_back
        return None if frame is None else f"{frame.f_code.co_filename.rsplit('/', 2)[-2:]}:{frame.f_code.co_name}"
    def _sample():
        while True:
            with open("/proc/self/statm") as statm:
                samples.append((round(time.perf_counter(), 1), int(statm.read().split()[1]) * 4096 >> 20, _ours()))
            time.sleep(0.5)
    threading.Thread(target=_sample, daemon=True).start()
    atexit.register(lambda: open(os.environ["BENCH_RSS_SAMPLES"], "w").write(json.dumps(samples)))
import glob, threading
helper_kb = [0]  # the helper process's resident size at its largest (ru_maxrss of a child counts it before exec)
OWN_CMDLINE = open("/proc/self/cmdline", "rb").read()
def _helper_hwm(pid):
    try:
        if open(f"/proc/{pid}/cmdline", "rb").read() == OWN_CMDLINE:
            return 0  # forked, not yet the helper: it still shows our own size
        return int(open(f"/proc/{pid}/status").read().split("VmHWM:")[1].split()[0])
    except (OSError, IndexError, ValueError):
        return 0
def _helpers():
    while True:
        for task in glob.glob("/proc/self/task/*/children"):
            try:
                pids = open(task).read().split()
            except OSError:
                continue
            for pid in pids:
                helper_kb[0] = max(helper_kb[0], _helper_hwm(pid))
        time.sleep(0.05)
threading.Thread(target=_helpers, daemon=True).start()
from ml_connector.config import Settings
from ml_connector.runner import instance_for, run_job
from pipelines.definitions import build_definitions
settings = Settings.from_env()
defs, instance = build_definitions(settings), instance_for(settings.state_dir)
loaded_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # imports, definitions and the Dagster instance
started = time.perf_counter()
summary = run_job(defs, "shipstation_to_tally", instance)
elapsed = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
helper = resource.getrusage(resource.RUSAGE_CHILDREN)  # the process that mapped orders (`pipelines.posting.ahead`)
print(json.dumps({"helper_cpu": helper.ru_utime + helper.ru_stime, "helper_peak_kb": helper_kb[0],
                  "success": summary.success, "error": summary.error, "seconds": elapsed, "peak_kb": usage.ru_maxrss,
                  "loaded_kb": loaded_kb, "pandas": "pandas" in sys.modules,
                  "cpu": usage.ru_utime + usage.ru_stime,
                  "created": summary.metric("tally/order_vouchers", "created"),
                  "failed": summary.metric("tally/order_vouchers", "failed"),
                  "read": summary.metric("shipstation/orders", "orders_read")}))
"""


MODES = {"off": "", "pessimistic": "per_voucher_walked_ms=0.01,walk=company,per_object_imported_ms=0.2"}


def start_sandbox(orders: int, workdir: Path, cost: str = "") -> tuple[subprocess.Popen, dict]:
    ports = workdir / "ports.json"
    proc = subprocess.Popen([sys.executable, "-m", "ml_connector.cli", "sandbox", "--orders", str(orders),
                             "--rate-limit", "0", "--ports-file", str(ports)], stdout=subprocess.DEVNULL,
                            env=os.environ | {"SANDBOX_TALLY_COST": cost})
    deadline = time.monotonic() + 600
    while not ports.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("sandbox did not start")
        time.sleep(0.05)
    time.sleep(0.2)
    return proc, json.loads(ports.read_text())


def stop(proc: subprocess.Popen) -> None:
    """End the sandbox: asked first, killed if a loaded machine keeps it from going within 30 s
    (a 100,000-order merchant is 1.6 GB to tear down; the figures are already taken by then)."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(orders: int, mode: str = "off", *, rss_samples: str = "") -> dict:
    with tempfile.TemporaryDirectory(prefix="mlc-bench-") as tmp:
        work = Path(tmp)
        proc, ports = start_sandbox(orders, work, MODES[mode])
        try:
            for url in (ports["shipstation"], ports["tally"]):
                httpx.post(f"{url}/__sandbox/reset-stats", timeout=30)
            env = os.environ | ports["env"] | {"ML_CONNECTOR_HOME": str(work / "state"),
                                               "DAGSTER_HOME": str(work / "state" / "dagster")}
            if rss_samples:
                env["BENCH_RSS_SAMPLES"] = f"{rss_samples}-{orders}-{mode}.json"
            sandbox_cpu = cpu_seconds(proc.pid)
            out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            ss = httpx.get(f"{ports['shipstation']}/__sandbox/stats", timeout=30).json()
            tally = httpx.get(f"{ports['tally']}/__sandbox/stats", timeout=30).json()
            sandbox_cpu = cpu_seconds(proc.pid) - sandbox_cpu
        finally:
            stop(proc)
    return {"orders": orders, "mode": mode, **result, "sandbox_cpu": sandbox_cpu,
            "shipstation_requests": ss["requests"],
            "tally_exports": tally.get("export", 0), "tally_imports": tally.get("import", 0),
            "vouchers_walked": tally.get("vouchers_walked", 0), "objects_imported": tally.get("objects_imported", 0)}


def model_seconds(mode: str, walked: int, imported: int) -> float:
    """What the simulator's cost model of `mode` waited for `walked` vouchers and `imported` objects."""
    cost = dict(part.split("=", 1) for part in MODES[mode].split(",") if part)
    return (walked * float(cost.get("per_voucher_walked_ms", 0))
            + imported * float(cost.get("per_object_imported_ms", 0))) / 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, action="append", help="order counts (default 10000, 50000, 100000)")
    parser.add_argument("--mode", choices=sorted(MODES), action="append", help="Tally cost mode (default both)")
    parser.add_argument("--rss-samples", default="", metavar="PREFIX",
                        help="write the sync process's resident size every 0.5 s, with where it was,"
                             " to PREFIX-N-MODE.json")
    args = parser.parse_args()
    print(f"{'orders':>8} {'mode':>12} {'seconds':>8} {'orders/s':>9} {'sync CPU/1k':>11} {'helper/1k':>10} "
          f"{'sbx CPU/1k':>10} {'exports/1k':>11} {'imports/1k':>11} "
          f"{'SS req/1k':>10} {'walked/1k':>10} {'loaded MB':>9} {'peak MB':>8} {'helper MB':>9} {'model s/1k':>10} "
          f"{'serial/s':>8}")
    for mode in args.mode or ["off", "pessimistic"]:
        rates: dict[int, float] = {}
        serial: dict[int, float] = {}
        for n in args.orders or [10_000, 50_000, 100_000]:
            r = measure(n, mode, rss_samples=args.rss_samples)
            if not r["success"]:
                print(f"{n:>8} {mode:>12} run failed: {r['error']}")
                continue
            per_k = 1000 / n
            rates[n] = r["read"] / r["seconds"]
            model = model_seconds(mode, r["vouchers_walked"], r["objects_imported"]) * per_k
            serial[n] = 1000 / ((r["cpu"] + r["helper_cpu"] + r["sandbox_cpu"]) * per_k + model)
            print(f"{n:>8} {mode:>12} {r['seconds']:>8.1f} {rates[n]:>9.1f} {r['cpu'] * per_k:>11.2f} "
                  f"{r['helper_cpu'] * per_k:>10.2f} {r['sandbox_cpu'] * per_k:>10.2f} "
                  f"{r['tally_exports'] * per_k:>11.2f} {r['tally_imports'] * per_k:>11.2f} "
                  f"{r['shipstation_requests'] * per_k:>10.2f} {r['vouchers_walked'] * per_k:>10.0f} "
                  f"{r['loaded_kb'] / 1024:>9.1f} {r['peak_kb'] / 1024:>8.1f} {r['helper_peak_kb'] / 1024:>9.1f} "
                  f"{model:>10.3f} {serial[n]:>8.1f}"
                  f"{'  (pandas loaded)' if r['pandas'] else ''}", flush=True)
        if len(rates) > 1:  # the target: the largest run's orders/s within 20% of the smallest's
            print(f"{'':>8} {mode:>12} orders/s at {max(rates):,} is {rates[max(rates)] / rates[min(rates)]:.0%}"
                  f" of that at {min(rates):,} (serial: {serial[max(serial)] / serial[min(serial)]:.0%})", flush=True)


if __name__ == "__main__":
    main()
