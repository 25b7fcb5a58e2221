"""A code location that only occupies Tally company pools, to show them on the distributed executor.

Each job is one company's: `PROBES` independent steps in that company's pool (`tally:<company>`), each
writing when it started and ended (wall clock, one JSON line per step, to $POOL_PROBE_LOG) while it
holds the slot for a moment. Steps run on the Celery workers like the product's.

Whether two companies' steps overlap must not depend on the machine's load: a step holds its slot until
it sees a step of the other company running at the same time (a marker file per running step beside the
log), then every later step holds only `HOLD_SECONDS`. If the pools wrongly ran one company after the
other, the first step waits `RENDEZVOUS_SECONDS` in vain, records that, and the test's overlap check fails.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import dagster as dg

from merchants.locations import executor_from_env
from merchants.pools import tally_pool

COMPANIES = ("Alpha Traders", "Beta Exports")
PROBES = 3
HOLD_SECONDS = 0.5
RENDEZVOUS_SECONDS = 60.0


def _hold(company: str, marker_dir: Path, me: str) -> None:
    """Hold the slot at least HOLD_SECONDS, and until the companies have once been seen running together."""
    settled = marker_dir / "settled"  # they met once (or one gave up waiting): no step waits again
    mine = marker_dir / f"running.{me}"
    mine.write_text(company, encoding="utf-8")
    try:
        deadline = time.monotonic() + RENDEZVOUS_SECONDS
        time.sleep(HOLD_SECONDS)
        while not settled.exists() and time.monotonic() < deadline:
            if _running(marker_dir) - {company}:
                settled.touch()
                return
            time.sleep(0.05)
        settled.touch()
    finally:
        mine.unlink(missing_ok=True)


def _running(marker_dir: Path) -> set[str]:
    companies = set()
    for marker in marker_dir.glob("running.*"):
        try:
            companies.add(marker.read_text(encoding="utf-8"))
        except FileNotFoundError:  # that step has just finished
            pass
    return companies


def company_job(company: str) -> dg.JobDefinition:
    def probe(context) -> None:  # noqa: ANN001  (Dagster reads the annotation; a string one it refuses)
        started = time.time()
        log_path = Path(os.environ["POOL_PROBE_LOG"])
        _hold(company, log_path.parent, f"{context.run_id}.{context.op.name}")
        line = {"company": company, "step": context.op.name, "run": context.run_id, "start": started,
                "end": time.time(), "pid": os.getpid()}
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")

    slug = tally_pool(company).split(":")[1].replace("-", "_")
    ops = [dg.op(name=f"write_{slug}_{n}", pool=tally_pool(company))(probe) for n in range(PROBES)]

    @dg.job(name=f"probe_{slug}", executor_def=executor_from_env() or dg.multiprocess_executor)
    def job():
        for op in ops:
            op()

    return job


defs = dg.Definitions(jobs=[company_job(c) for c in COMPANIES])
