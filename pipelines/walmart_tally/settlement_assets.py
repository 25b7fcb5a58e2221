"""Walmart settlements -> TallyPrime: stage a report's coded totals, then post Receipts and a Journal.

`walmart/settlements` downloads each report (one date, or every available date not yet posted),
streams its rows through the coding (`settlement.code_settlement`) and stages only the totals.
`tally/walmart_settlements` turns each staged settlement into vouchers; one that cannot be posted
whole (a type not coded, a sale not in Tally yet, lines that do not add up to the deposit) is held
back with the reason, in the ledger and the staged table, and tried again on the next run.
"""

import tempfile
from datetime import UTC, date, datetime

import dagster as dg

from connectors.walmart.reports import ReconReport, SettlementSummary
from pipelines.metadata import FINANCE, OPERATIONS, failure_table
from pipelines.sides.errors import MappingError
from pipelines.sides.tally import TARGET
from pipelines.sides.tally.target import TallyTarget
from pipelines.walmart_tally.assets import GROUP, SALES, WITH_WALMART
from pipelines.walmart_tally.posting import JOURNAL_FLOW, RECEIPT_FLOW, VoucherPoster, posted_sales
from pipelines.walmart_tally.settlement import (
    SettlementBook,
    SettlementLedgers,
    TypeTotal,
    code_settlement,
    journal_key,
    report_day,
    settlement_vouchers,
)
from pipelines.walmart_tally.staging import WalmartStaging, book_from_json, book_json
from state.audit_hook import AuditHook
from state.ledger import Candidate, SyncLedger

SETTLEMENTS = dg.AssetKey(["walmart", "settlements"])
SETTLEMENT_VOUCHERS = dg.AssetKey(["tally", "walmart_settlements"])
SPOOL_BYTES = 8 << 20  # a report above this is spooled to disk while it is read


class SettlementConfig(dg.Config):
    """Which report: a date as Walmart spells it (e.g. 06102024); empty: every available one not yet posted."""

    report_date: str = ""
    version: str = ""  # v1 or legacy; empty: WALMART_SETTLEMENT_REPORT_VERSION


@dg.asset(key=SETTLEMENTS, group_name=GROUP, kinds={"walmart", "duckdb"}, owners=[FINANCE],
          required_resource_keys=WITH_WALMART)
def walmart_settlements(context: dg.AssetExecutionContext, config: SettlementConfig) -> dg.MaterializeResult:
    """Each report streamed once: its lines coded and summed, the totals staged (never the rows)."""
    flow = context.resources.walmart_flow
    staging, ledgers = WalmartStaging(context.resources.state.staging()), flow.settlement_ledgers()
    version = config.version or flow.report_version
    staged = []
    with context.resources.walmart.client() as client:
        available = client.available_recon_dates(version)
        dates = [spelled(available, config.report_date)] if config.report_date else sorted(
            set(available) - staging.settlement_dates("posted"))
        for report_date in dates:
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as file:
                client.download_recon_file(report_date, file, version=version)
                report = ReconReport(file, name=report_date)
                book = code_settlement(report.lines(), ledgers)
            stage_settlement(staging, report_date, report, book)
            staged.append({"report_date": report_date, "layout": report.layout, "rows": str(report.summary.rows),
                           "payout": str(report.summary.total_payable), "uncoded": str(len(book.uncoded))})
    return dg.MaterializeResult(metadata={"settlements": len(staged), "staged_run_id": context.run_id,
                                          "reports": failure_table(staged, list(staged[0]) if staged else [])})


def spelled(available: list[str], wanted: str) -> str:
    """The date as Walmart lists it (pass it back exactly, §9): `04022026` and `20260402` name one day."""
    try:
        day = report_day(wanted)
    except MappingError:
        return wanted
    return next((d for d in available if _same_day(d, day)), wanted)


def _same_day(text: str, day: date) -> bool:
    try:
        return report_day(text) == day
    except MappingError:
        return False


def stage_settlement(staging: WalmartStaging, report_date: str, report: ReconReport, book: SettlementBook) -> None:
    summary = staging.settlement(report_date)
    status = "posted" if summary and summary["status"] == "posted" else "staged"
    types = [(k[0], k[1], t.target, t.lines, t.amount) for k, t in sorted(book.types.items())]
    staging.save_settlement(report_date, {
        "day": report_day(report_date), "layout": report.layout, "total_payable": report.summary.total_payable,
        "line_total": report.summary.line_total, "rows": report.summary.rows, "status": status,
        "fetched_at": datetime.now(UTC), "book": book_json(book.bills, book.ledgers)}, types)


@dg.asset(key=SETTLEMENT_VOUCHERS, group_name=GROUP, kinds={"tally"}, owners=[FINANCE, OPERATIONS],
          deps=[SETTLEMENTS, SALES], pool="tally", required_resource_keys={"tally", "state", "walmart_flow"})
def tally_walmart_settlements(context: dg.AssetExecutionContext, config: SettlementConfig) -> dg.MaterializeResult:
    """Receipts settling the sales bill-wise and a Journal of fees per staged settlement: payout to the cent."""
    flow, state = context.resources.walmart_flow, context.resources.state
    staging, ledger, ledgers = WalmartStaging(state.staging()), state.ledger(), flow.settlement_ledgers()
    hook = AuditHook(ledger.audit, run_id=context.run_id, flow=RECEIPT_FLOW)
    client = context.resources.tally.client(hook)
    receipts = VoucherPoster(RECEIPT_FLOW, TallyTarget(client, ledgers.receipt_type, hook), ledger, context.run_id,
                             batch_size=flow.batch_size, batch_ceiling=flow.batch_ceiling)
    journals = VoucherPoster(JOURNAL_FLOW, TallyTarget(client, ledgers.journal_type, hook), ledger, context.run_id)
    dates = [config.report_date] if config.report_date else sorted(staging.settlement_dates("staged", "held"))
    held, posted = [], 0
    for report_date in dates:
        error = post_settlement(staging, ledger, report_date, ledgers, receipts, journals)
        if error:
            held.append({"report_date": report_date, "error": error})
        else:
            posted += 1
    failures = [*held, *({"report_date": f["voucher"], "error": f["error"]}
                         for f in (*receipts.report.failures, *journals.report.failures))]
    return dg.MaterializeResult(metadata={
        "settlements_posted": posted, "settlements_held": len(held),
        "receipts_created": receipts.report.created, "journals_created": journals.report.created,
        "skipped": receipts.report.skipped + journals.report.skipped,
        "failed": receipts.report.failed + journals.report.failed + len(held),
        "failures": failure_table(failures, ["report_date", "error"])})


def post_settlement(staging: WalmartStaging, ledger: SyncLedger, report_date: str, ledgers: SettlementLedgers,
                    receipts: VoucherPoster, journals: VoucherPoster) -> str | None:
    """Post one staged settlement whole, or hold it back; returns why it is held (None: posted)."""
    row = staging.settlement(report_date)
    if row is None:
        return "not staged: run walmart/settlements for this date first"
    book = SettlementBook(*book_from_json(row["book"]))
    restore_types(staging, report_date, book)
    parties = {po: party for po, (party, _) in posted_sales(ledger, sorted(book.bills)).items()}
    summary = settlement_summary(row)
    try:
        vouchers = settlement_vouchers(report_date, book, summary, parties, ledgers)
    except (MappingError, ArithmeticError) as exc:  # an amount beyond Decimal's range holds it back too
        ledger.record_failed_unclaimed(JOURNAL_FLOW, TARGET, Candidate(report_date, journal_key(report_date), "",
                                       detail={"voucher": journal_key(report_date)}), str(exc), "{}")
        staging.set_status(report_date, "held", str(exc))
        return str(exc)
    failed_before = receipts.report.failed + journals.report.failed
    receipts.post((f"{report_date}#{key.rsplit('-r', 1)[1]}", key, voucher, {"report_date": report_date})
                  for key, voucher in vouchers.receipts)
    if vouchers.journal:
        journals.post([(report_date, vouchers.journal[0], vouchers.journal[1], {"report_date": report_date})])
    if receipts.report.failed + journals.report.failed > failed_before:
        staging.set_status(report_date, "held", "a voucher was refused by Tally (see the ledger)")
        return "a voucher was refused by Tally (see the ledger)"
    staging.set_status(report_date, "posted", None, vouchers.posted_total)
    return None


def settlement_summary(row: dict) -> SettlementSummary:
    return SettlementSummary(layout=row["layout"], total_payable=row["total_payable"], rows=row["rows"] or 0,
                             line_total=row["line_total"])


def restore_types(staging: WalmartStaging, report_date: str, book: SettlementBook) -> None:
    book.types = {(t, a): TypeTotal(target, lines, amount)
                  for t, a, target, lines, amount in staging.settlement_types(report_date)}


ASSETS = [walmart_settlements, tally_walmart_settlements]
