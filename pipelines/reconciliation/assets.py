"""Reconciliation assets: daily exceptions between the two sides' snapshots, and the month's report.

`recon/exceptions` is daily-partitioned like the snapshots (books' time zone) and takes a range of
days in one run, so a month's backfill from the UI is one run; its check fails when any of its days
holds an exception nothing explains (a voucher deleted or edited by hand in Tally, an orphan), so
the UI shows red where the books disagree. `recon/month_report` is monthly-partitioned and writes
the HTML page, CSV and .xlsx finance reads on the 1st (the same files `ml-connector report` writes).
"""


from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from pipelines.reconciliation.engine import load_ledger, month_rollup, reconcile_day
from pipelines.reconciliation.report import report_data_from, write_report
from pipelines.reconciliation.snapshot_assets import GROUP, SNAPSHOT_KEYS, build_snapshot_assets, daily_partitions

__all__ = ["EXCEPTIONS", "GROUP", "NO_UNEXPLAINED", "REPORT", "build_reconciliation_assets"]
from pipelines.reconciliation.store import ReconStore
from pipelines.shipstation_tally.checks import failure_table
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from resources import StateResource, TallyResource

EXCEPTIONS = dg.AssetKey(["recon", "exceptions"])
REPORT = dg.AssetKey(["recon", "month_report"])
NO_UNEXPLAINED = "no_unexplained_exceptions"
EXPLAINING_STATES = ("failed", "waiting", "pending", "skipped")


def build_reconciliation_assets(start: date, timezone: str) -> list[dg.AssetsDefinition]:
    """Snapshots, daily exceptions and the monthly report, partitioned from `start` in `timezone`."""
    days = daily_partitions(start, timezone)
    months = dg.MonthlyPartitionsDefinition(start_date=start.replace(day=1).isoformat(), timezone=timezone)

    @dg.asset(key=EXCEPTIONS, group_name=GROUP, partitions_def=days, deps=SNAPSHOT_KEYS, kinds={"duckdb"},
              backfill_policy=dg.BackfillPolicy.single_run(),
              check_specs=[dg.AssetCheckSpec(NO_UNEXPLAINED, asset=EXCEPTIONS, description=(
                  "Every exception of the day has a recorded cause (a failed or waiting sync record, a variance "
                  "line); anything else means the books disagree for a reason nobody has explained."))])
    def recon_exceptions(context: dg.AssetExecutionContext, state: StateResource,
                         flow: ShipStationTallySettings) -> dg.MaterializeResult:
        """Record-by-record exceptions of each day, with category, ids on both sides, amounts, reason, owner."""
        ledger, now = state.ledger(), datetime.now(UTC)
        with ReconStore(state.staging()).connect() as conn:
            load_ledger(conn, ledger.changed_since(0, EXPLAINING_STATES, limit=10**9), now=now,
                        lease_seconds=ledger.lease_seconds)
            results = [reconcile_day(conn, date.fromisoformat(key), now=now, timezone=flow.timezone,
                                     order_voucher_type=flow.voucher_type,
                                     note_voucher_type=flow.delivery_note_type) for key in context.partition_keys]
        red = [{"day": r.day.isoformat(), "unexplained": str(r.unexplained), "exceptions": str(r.exceptions)}
               for r in results if r.unexplained]
        per_category: dict[str, int] = {}
        for result in results:
            for category, n in result.per_category.items():
                per_category[category] = per_category.get(category, 0) + n
        orders, matched = sum(r.orders for r in results), sum(r.matched for r in results)
        return dg.MaterializeResult(
            metadata={"days": len(results), "orders": orders, "matched": matched,
                      "match_rate": round(matched / orders, 4) if orders else None,
                      "exceptions": sum(r.exceptions for r in results),
                      "unexplained": sum(r.unexplained for r in results),
                      "per_category": {k: v for k, v in per_category.items() if v}},
            check_results=[dg.AssetCheckResult(check_name=NO_UNEXPLAINED, passed=not red, metadata={
                "days_with_unexplained": failure_table(red, ["day", "unexplained", "exceptions"])})])

    @dg.asset(key=REPORT, group_name=GROUP, partitions_def=months, deps=[EXCEPTIONS], kinds={"html"})
    def recon_month_report(context: dg.AssetExecutionContext, state: StateResource,
                           tally: TallyResource) -> dg.MaterializeResult:
        """The month's report: totals per side, match rate, charts and the exception table (HTML, CSV, .xlsx)."""
        month = context.partition_key[:7]
        with ReconStore(state.staging()).connect() as conn:
            result = month_rollup(conn, month)
        files = write_report(report_data_from(result, company=tally.company), Path(state.home) / "reports" / month)
        return dg.MaterializeResult(metadata={
            "html": dg.MetadataValue.path(str(files.html)), "csv": dg.MetadataValue.path(str(files.csv)),
            "xlsx": dg.MetadataValue.path(str(files.xlsx)), "days_reconciled": result.days_reconciled,
            "match_rate": result.match_rate, "exceptions": result.exception_count,
            "unexplained": result.unexplained})

    return [*build_snapshot_assets(start, timezone), recon_exceptions, recon_month_report]
