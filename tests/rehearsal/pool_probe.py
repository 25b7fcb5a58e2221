"""A code location that only occupies Tally company pools, to show them on the distributed executor.

Each job is one company's: `PROBES` independent steps in that company's pool (`tally:<company>`), each
writing when it started and ended (wall clock, one JSON line per step, to $POOL_PROBE_LOG) while it
holds the slot for a moment. Steps run on the Celery workers like the product's.
"""

from __future__ import annotations

import json
import os
import time

import dagster as dg

from merchants.locations import executor_from_env
from merchants.pools import tally_pool

COMPANIES = ("Alpha Traders", "Beta Exports")
PROBES = 3
HOLD_SECONDS = 1.5


def company_job(company: str) -> dg.JobDefinition:
    def probe(context) -> None:  # noqa: ANN001  (Dagster reads the annotation; a string one it refuses)
        started = time.time()
        time.sleep(HOLD_SECONDS)
        line = {"company": company, "step": context.op.name, "run": context.run_id, "start": started,
                "end": time.time(), "pid": os.getpid()}
        with open(os.environ["POOL_PROBE_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps(line) + "\n")

    slug = tally_pool(company).split(":")[1].replace("-", "_")
    ops = [dg.op(name=f"write_{slug}_{n}", pool=tally_pool(company))(probe) for n in range(PROBES)]

    @dg.job(name=f"probe_{slug}", executor_def=executor_from_env() or dg.multiprocess_executor)
    def job():
        for op in ops:
            op()

    return job


defs = dg.Definitions(jobs=[company_job(c) for c in COMPANIES])
