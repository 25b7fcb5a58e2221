"""Reconciliation assets: each pack's snapshots, daily exceptions of every pair, and the month's report.

`recon/exceptions` is daily-partitioned like the snapshots (books' time zone), depends on every pack's
snapshot assets, and reconciles each pack in turn for a range of days in one run, so a month's backfill
from the UI is one run; its check fails when any day of any pair holds an exception nothing explains
(a voucher deleted or edited by hand, an orphan), so the UI shows red where the books disagree.
`recon/month_report` is monthly-partitioned and writes the HTML page, CSV and .xlsx finance reads on
the 1st (the same files `ml-connector report` writes), one report for every pair.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.metadata import FINANCE, OPERATIONS, failure_table
from pipelines.reconciliation.engine import DayResult, load_ledger, month_rollup, reconcile_days
from pipelines.reconciliation.pack import RulePack, check_packs
from pipelines.reconciliation.report import ReportFiles, report_data_from, write_report
from pipelines.reconciliation.rollup import MonthResult
from pipelines.reconciliation.snapshot_assets import GROUP, daily_partitions
from pipelines.reconciliation.store import ReconStore
from resources import StateResource, TallyResource

__all__ = ["EXCEPTIONS", "GROUP", "NO_UNEXPLAINED", "REPORT", "build_reconciliation_assets"]

EXCEPTIONS = dg.AssetKey(["recon", "exceptions"])
REPORT = dg.AssetKey(["recon", "month_report"])
NO_UNEXPLAINED = "no_unexplained_exceptions"
EXPLAINING_STATES = ("failed", "waiting", "pending", "skipped")


def build_reconciliation_assets(start: date, timezone: str, packs: Sequence[RulePack]) -> list[dg.AssetsDefinition]:
    """Every pack's snapshots, the daily exceptions and the monthly report, partitioned from `start` in `timezone`."""
    check_packs(packs)
    snapshots = [asset for pack in packs if pack.snapshot_assets for asset in pack.snapshot_assets(start, timezone)]
    months = dg.MonthlyPartitionsDefinition(start_date=start.replace(day=1).isoformat(), timezone=timezone)

    @dg.asset(key=EXCEPTIONS, group_name=GROUP, partitions_def=daily_partitions(start, timezone), kinds={"duckdb"},
              owners=[FINANCE, OPERATIONS],
              deps=[key for asset in snapshots for key in asset.keys], backfill_policy=dg.BackfillPolicy.single_run(),
              check_specs=[dg.AssetCheckSpec(NO_UNEXPLAINED, asset=EXCEPTIONS, description=(
                  "Every exception of the day has a recorded cause (a failed or waiting sync record, a variance "
                  "line); anything else means the books disagree for a reason nobody has explained."))])
    def recon_exceptions(context: dg.AssetExecutionContext, state: StateResource,
                         tally: TallyResource) -> dg.MaterializeResult:
        """Record-by-record exceptions of each day and pair: category, ids on both sides, amounts, reason, owner.

        The report of each month the run touches is rewritten too, so the link beside the exceptions always
        opens the month as it stands (the month-end job writes it once more on the 1st)."""
        ledger, now = state.ledger(), datetime.now(UTC)
        with ReconStore(state.staging()).connect() as conn:
            load_ledger(conn, ledger.changed_since(0, EXPLAINING_STATES, limit=10**9), now=now,
                        lease_seconds=ledger.lease_seconds)
            days = [date.fromisoformat(key) for key in context.partition_keys]
            results = [result for pack in packs
                       for result in reconcile_days(conn, pack, days, now=now, timezone=timezone)]
            reports = {month: month_files(conn, month, state, tally.company)
                       for month in sorted({day.strftime("%Y-%m") for day in days})}
        red = [{"day": r.day.isoformat(), "pair": r.pair, "unexplained": str(r.unexplained),
                "exceptions": str(r.exceptions)} for r in results if r.unexplained]
        links = {f"report {month}": dg.MetadataValue.url(files.html.as_uri()) for month, (files, _) in reports.items()}
        return dg.MaterializeResult(metadata=exceptions_metadata(results) | links, check_results=[dg.AssetCheckResult(
            check_name=NO_UNEXPLAINED, passed=not red, metadata={
                "days_with_unexplained": failure_table(red, ["day", "pair", "unexplained", "exceptions"])})])

    @dg.asset(key=REPORT, group_name=GROUP, partitions_def=months, deps=[EXCEPTIONS], kinds={"html"}, owners=[FINANCE])
    def recon_month_report(context: dg.AssetExecutionContext, state: StateResource,
                           tally: TallyResource) -> dg.MaterializeResult:
        """The month's report for every pair: totals per side, match rates, charts, exceptions (HTML, CSV, .xlsx)."""
        month = context.partition_key[:7]
        with ReconStore(state.staging()).connect() as conn:
            files, result = month_files(conn, month, state, tally.company)
        rates = {p.pair: p.match_rate for p in result.pairs}
        return dg.MaterializeResult(metadata={
            "report": dg.MetadataValue.url(files.html.as_uri()),
            "html": dg.MetadataValue.path(str(files.html)), "csv": dg.MetadataValue.path(str(files.csv)),
            "xlsx": dg.MetadataValue.path(str(files.xlsx)), "days_reconciled": result.days_reconciled,
            "pairs": ", ".join(rates), "match_rate": next(iter(rates.values()), None), "match_rates": rates,
            "exceptions": result.exception_count, "unexplained": result.unexplained})

    return [*snapshots, recon_exceptions, recon_month_report]


def month_files(conn: Any, month: str, state: StateResource, company: str) -> tuple[ReportFiles, MonthResult]:
    """Write `month`'s report (HTML, CSV, .xlsx) under `<state home>/reports/<month>`: its files and figures."""
    result = month_rollup(conn, month)
    return write_report(report_data_from(result, company=company), Path(state.home) / "reports" / month), result


def exceptions_metadata(results: Sequence[DayResult]) -> dict[str, Any]:
    """Days, every measure summed over days and pairs, the match rate, exceptions per category (and per pair)."""
    measures: dict[str, int | Decimal] = {}
    per_category: dict[str, int] = {}
    per_pair: dict[str, int] = {}
    matched = of = 0
    for r in results:
        for key, value in r.totals.items():
            measures[key] = measures.get(key, 0) + value
        for category, n in r.per_category.items():
            per_category[category] = per_category.get(category, 0) + n
        per_pair[r.pair] = per_pair.get(r.pair, 0) + r.exceptions
        if r.match:
            matched, of = matched + r.totals[r.match[0]], of + r.totals[r.match[1]]
    return {"days": len({r.day for r in results}), **{k: str(v) if isinstance(v, Decimal) else v
                                                       for k, v in measures.items()},
            "match_rate": round(matched / of, 4) if of else None,
            "exceptions": sum(r.exceptions for r in results), "unexplained": sum(r.unexplained for r in results),
            "per_category": {k: v for k, v in per_category.items() if v}, "per_pair": per_pair}
