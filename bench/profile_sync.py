"""Profile the ShipStation -> TallyPrime order sync and the simulators serving it (cProfile).

Runs what `bench.run` runs (the sandbox in its own process, rate limits off; the job in a child
process), with cProfile on the job's process and on each simulator's serving thread, then prints
both profiles ranked by self time, and the CPU seconds per 1,000 orders of each process (figures a
loaded machine does not distort; cProfile itself adds to them, so compare them with each other,
not with `bench.run`'s). Profiles are kept as `<out>-sync.prof` and `<out>-sandbox-<port>.prof` for
`python -m pstats`. The poster's sender thread (the target's calls) is profiled apart, as `<out>-sender.prof`.
Orders mapped in the helper process (`pipelines.posting.ahead`) are not in these profiles: run with
`TALLY_MAP_ORDERS_IN_HELPER=false` to profile the mapping in the job's own process.

    python -m bench.profile_sync --orders 10000
    python -m bench.profile_sync --orders 2000 --top 40 --sort cumulative
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.run import CHILD, MODES, cpu_seconds, stop

# The sandbox with a profiler in every uvicorn serving thread, each dumped when its server stops.
SANDBOX = """
import cProfile, sys, time, uvicorn
_run = uvicorn.Server.run
def _profiled(self, *args, **kwargs):
    profile = cProfile.Profile(time.thread_time)  # CPU of this serving thread, not its waits
    try:
        return profile.runcall(_run, self, *args, **kwargs)
    finally:
        profile.dump_stats(f"{sys.argv[1]}-sandbox-{self.config.port}.prof")
uvicorn.Server.run = _profiled
from ml_connector.cli import main
sys.exit(main(["sandbox", "--orders", sys.argv[2], "--rate-limit", "0", "--ports-file", sys.argv[3]]))
"""


# The poster's sender thread (target calls: XML built, sent, replies and read-backs parsed) gets a profile of
# its own; each profile counts its own thread's CPU (the run's thread waits on the sender's futures meanwhile).
SENDER = """import concurrent.futures.thread as _cft
sender = cProfile.Profile(time.thread_time)
_work = _cft._WorkItem.run
def _profiled(self):
    sender.enable()
    try:
        _work(self)
    finally:
        sender.disable()
_cft._WorkItem.run = _profiled
"""


def profile(orders: int, mode: str, out: str) -> dict:
    """Run the job once under cProfile; returns CPU seconds of the job and of the sandbox."""
    with tempfile.TemporaryDirectory(prefix="mlc-prof-") as tmp:
        work = Path(tmp)
        ports_file = work / "ports.json"
        sandbox = subprocess.Popen([sys.executable, "-c", SANDBOX, out, str(orders), str(ports_file)],
                                   stdout=subprocess.DEVNULL, env=os.environ | {"SANDBOX_TALLY_COST": MODES[mode]})
        try:
            while not ports_file.exists():
                if sandbox.poll() is not None:
                    raise RuntimeError("sandbox did not start")
                time.sleep(0.2)
            time.sleep(0.2)
            ports = json.loads(ports_file.read_text())
            for url in (ports["shipstation"], ports["tally"]):
                httpx.post(f"{url}/__sandbox/reset-stats", timeout=30)
            child = work / "child.py"
            # CPU time of the run's thread (DuckDB works on it: THREADS = 1), so waits on the simulators and the
            # sender thread's CPU (profiled apart) do not count
            child.write_text("import cProfile, sys, time\nprofile = cProfile.Profile(time.thread_time)\n"
                             f"{SENDER}"
                             f"try:\n    profile.runctx({CHILD!r}, {{'__name__': '__main__'}}, {{}})\n"
                             f"finally:\n    profile.dump_stats({out + '-sync.prof'!r})\n"
                             f"    sender.dump_stats({out + '-sender.prof'!r})\n")
            env = os.environ | ports["env"] | {"ML_CONNECTOR_HOME": str(work / "state"),
                                               "DAGSTER_HOME": str(work / "state" / "dagster")}
            before = cpu_seconds(sandbox.pid)
            done = subprocess.run([sys.executable, str(child)],
                                  env=env, capture_output=True, text=True, check=True)
            sandbox_cpu = cpu_seconds(sandbox.pid) - before
        finally:
            stop(sandbox)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, "sandbox_cpu": sandbox_cpu,
            "children_cpu": sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])}


def show(paths: list[str], sort: str, top: int) -> None:
    stats = pstats.Stats(*paths)
    stats.sort_stats(sort).print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--mode", choices=sorted(MODES), default="off")
    parser.add_argument("--out", default="/tmp/mlc-profile", help="prefix of the .prof files")
    parser.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative, ...)")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    for old in Path(args.out).parent.glob(f"{Path(args.out).name}-sandbox-*.prof"):
        old.unlink()  # the ports differ from run to run: an earlier run's files would be summed in
    r = profile(args.orders, args.mode, args.out)
    per_k = 1000 / args.orders
    print(f"orders {args.orders}  success {r['success']}  created {r['created']}  failed {r['failed']}"
          f"  sync CPU/1k {r['cpu'] * per_k:.2f} (profiled)  sandbox CPU/1k {r['sandbox_cpu'] * per_k:.2f} (profiled)")
    print("=" * 40, "sync")
    show([f"{args.out}-sync.prof"], args.sort, args.top)
    print("=" * 40, "sync: the poster's sender thread (its own thread CPU, apart from the run thread's above)")
    show([f"{args.out}-sender.prof"], args.sort, args.top)
    print("=" * 40, "sandbox (all serving threads)")
    show(sorted(str(p) for p in Path(args.out).parent.glob(f"{Path(args.out).name}-sandbox-*.prof")),
         args.sort, args.top)


if __name__ == "__main__":
    main()
