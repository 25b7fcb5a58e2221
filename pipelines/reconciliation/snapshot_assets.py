"""What every pack's snapshot assets share: the daily partitions, the group, week-long scans, metadata.

Every snapshot asset is partitioned by day in the books' time zone and may run a range of days in one
run (`BackfillPolicy.single_run`), so a month's backfill from the UI is one run per asset; each day is
still written on its own (delete + insert in one transaction), so a rerun or a retried range replaces
the days it reaches and leaves the others as they were. A pack builds its own assets with
`snapshot_kwargs` (e.g. pipelines/shipstation_tally/recon/assets.py); new packs key them
`recon/<pair>/<entity>`.
"""

import warnings
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any

import dagster as dg

from pipelines.metadata import FINANCE, failure_table
from pipelines.reconciliation.snapshots import partition_day

GROUP = "reconciliation"

# `backfill_policy` is a Dagster beta parameter we chose on purpose (a month's backfill in one run per asset);
# its BetaWarning, once per asset at import, said nothing a user could act on and buried the demo's output.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)


def daily_partitions(start: date, timezone: str) -> dg.DailyPartitionsDefinition:
    """The reconciliation partitions: one per complete day in the books' time zone, from `start`."""
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone=timezone)


def snapshot_kwargs(start: date, timezone: str) -> dict[str, Any]:
    """`@dg.asset` arguments every snapshot asset takes: group, daily partitions, ranges in one run."""
    return {"group_name": GROUP, "partitions_def": daily_partitions(start, timezone), "owners": [FINANCE],
            "backfill_policy": dg.BackfillPolicy.single_run()}


def partition_days(context: dg.AssetExecutionContext) -> Iterator[date]:
    """The run's partition day(s)."""
    return (partition_day(key) for key in context.partition_keys)


def weeks(days_: Iterable[date], size: int = 7) -> Iterator[list[date]]:
    """Runs of at most `size` consecutive days: one scan each, memory bounded by a week."""
    run: list[date] = []
    for day in days_:
        if run and (len(run) == size or day != run[-1] + timedelta(days=1)):
            yield run
            run = []
        run.append(day)
    if run:
        yield run


def result(per_day: list[dict[str, Any]], problems: list[dict[str, str]], counts: list[str],
           note: str | None = None) -> dg.MaterializeResult:
    """Totals over the run's days, the days themselves as a table, records that did not parse, a note."""
    metadata: dict[str, Any] = {name: sum(d[name] for d in per_day) for name in counts}
    metadata["days"] = len(per_day)
    metadata["per_day"] = failure_table(per_day, ["day", *counts])
    if problems:
        metadata["unparsed"] = failure_table(problems, ["record", "error"])
    if note:
        metadata["note"] = note
    return dg.MaterializeResult(metadata=metadata)
