"""The Walmart -> TallyPrime flows as the application sees them (CLI `sync`, `replay`, demo, ledger)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from pipelines.flow import FlowSpec, Replay
from pipelines.walmart_tally import parties
from pipelines.walmart_tally.jobs import ORDERS_JOB, RETURNS_JOB, SETTLEMENTS_JOB
from pipelines.walmart_tally.posting import CREDIT_NOTE_FLOW, JOURNAL_FLOW, RECEIPT_FLOW, SALES_FLOW
from pipelines.walmart_tally.previews import credit_note_preview, sales_preview, settlement_preview
from pipelines.walmart_tally.window import ORDERS_OP, RETURNS_OP, Window
from state.ledger import Entry

SETTLEMENTS_OP = "walmart__settlements"


def orders_window(start: datetime, end: datetime) -> dict:
    return Window(start, end).run_config(ORDERS_OP)


def returns_window(start: datetime, end: datetime) -> dict:
    return Window(start, end).run_config(RETURNS_OP)


def orders_by_id(entries: Sequence[Entry]) -> dict:
    """Run config re-reading these purchase orders by id (replay, transient retries)."""
    ids = sorted({e.source_id for e in entries if not e.source_id.startswith("no-id:")})  # those have no PO to read
    return {"ops": {ORDERS_OP: {"config": {"ids": ids}}}}


def returns_by_id(entries: Sequence[Entry]) -> dict:
    """Returns have no GET by id in the reference: re-read the window and keep these (source id `rma:po`)."""
    return {"ops": {RETURNS_OP: {"config": {"ids": sorted({e.source_id.split(":")[0] for e in entries})}}}}


def settlement_date(day: date) -> dict:
    """`sync walmart-settlements-to-tally --date YYYY-MM-DD`: stage the report of that day (however Walmart
    spells it, §9), then post every staged settlement not yet posted (that one with any held earlier)."""
    return {"ops": {SETTLEMENTS_OP: {"config": {"report_date": day.strftime("%m%d%Y")}}}}


def settlements_again(entries: Sequence[Entry]) -> dict:
    """Every settlement not yet posted (held ones included) is staged again and posted."""
    return {}


FLOWS = (
    FlowSpec("walmart-orders-to-tally", ORDERS_JOB, "Walmart purchase orders -> TallyPrime Sales vouchers",
             ledger_flows=(SALES_FLOW, parties.FLOW), failed_metrics=(("tally/walmart_sales", "failed"),),
             window_config=orders_window,
             replay=Replay(SALES_FLOW, "purchase order(s)", orders_by_id, preview=sales_preview, target="TallyPrime")),
    FlowSpec("walmart-returns-to-tally", RETURNS_JOB, "Refunded Walmart returns -> TallyPrime Credit Notes",
             ledger_flows=(CREDIT_NOTE_FLOW,), failed_metrics=(("tally/walmart_credit_notes", "failed"),),
             window_config=returns_window,
             replay=Replay(CREDIT_NOTE_FLOW, "return(s)", returns_by_id, preview=credit_note_preview,
                           target="TallyPrime")),
    FlowSpec("walmart-settlements-to-tally", SETTLEMENTS_JOB,
             "Walmart settlements -> TallyPrime Receipts and a fee Journal (payout to the cent)",
             ledger_flows=(RECEIPT_FLOW, JOURNAL_FLOW), failed_metrics=(("tally/walmart_settlements", "failed"),),
             date_config=settlement_date,
             replay=Replay(JOURNAL_FLOW, "settlement(s)", settlements_again, preview=settlement_preview,
                           target="TallyPrime")),
)
