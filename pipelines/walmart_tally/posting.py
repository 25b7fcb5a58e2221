"""Posting Walmart records to TallyPrime exactly once, through the generic `Poster` and `TallyTarget`.

Ledger flows: Sales vouchers by PO, Credit Notes by (return, PO), settlement Receipts and Journals
by report date. Each flow's `detail` keeps what later flows need: a sale's party and date, so a
Credit Note or a settlement Receipt settles the same party's bill.
"""

from __future__ import annotations

import json
from datetime import date

from pydantic import ValidationError

from connectors.common.errors import RecordError
from connectors.common.timezones import local_date
from connectors.tally.models import Voucher
from connectors.walmart.models import Order, ReturnOrder
from pipelines.posting import Poster, PostItem
from pipelines.posting.keys import record_id
from pipelines.sides.errors import MappingError
from pipelines.sides.tally import TARGET
from pipelines.sides.tally.builders import payload_hash
from pipelines.sides.tally.skus import SkuResolver
from pipelines.sides.tally.target import TallyTarget
from pipelines.walmart_tally.mapping import (
    SalesConfig,
    credit_note_key,
    order_to_sales,
    party_for,
    return_to_credit_notes,
    sale_key,
)
from state.ledger import Candidate, SyncLedger

SALES_FLOW = "walmart_tally.sales"
CREDIT_NOTE_FLOW = "walmart_tally.credit_notes"
RECEIPT_FLOW = "walmart_tally.settlement_receipts"
JOURNAL_FLOW = "walmart_tally.settlement_journals"

__all__ = ["CREDIT_NOTE_FLOW", "JOURNAL_FLOW", "RECEIPT_FLOW", "SALES_FLOW", "TARGET", "CreditNotePoster",
           "SalesPoster", "VoucherPoster", "posted_sales"]


def parse_order(raw: dict) -> tuple[Order | None, str | None]:
    try:
        return Order.from_raw(raw), None
    except RecordError as error:
        return None, str(error)


class SalesPoster(Poster):
    """One Sales voucher per staged purchase order: created, altered (a line cancelled) or cancelled."""

    overlap = True  # prepare only maps and reads the ledger: Tally answers while the next batch is mapped

    flow = SALES_FLOW
    report_keys = ("purchase_order", "purchase_order")

    def __init__(self, target: TallyTarget, ledger: SyncLedger, cfg: SalesConfig, skus: SkuResolver,
                 known_ledgers: set[str], run_id: str, **kwargs) -> None:
        super().__init__(target, ledger, run_id, **kwargs)
        self.cfg, self.skus, self.known_ledgers = cfg, skus, known_ledgers

    def prepare(self, raw: dict) -> PostItem | None:
        self.report.read += 1
        po = record_id(raw, "purchaseOrderId")
        order, error = parse_order(raw)
        try:
            if order is None:
                raise MappingError(f"Walmart PO {po}", "order", error or "unreadable")
            party = party_for(order, self.cfg)
            if party not in self.known_ledgers:
                raise MappingError(f"Walmart PO {po}", "party", f"ledger {party!r} does not exist in Tally")
            voucher = order_to_sales(order, party, self.skus, self.cfg)
        except (MappingError, ValidationError, ArithmeticError) as exc:  # an amount beyond Decimal's range too
            self.fail_unclaimed(po, sale_key(po), po, raw, str(exc))
            return None
        day = local_date(order.order_date, self.cfg.timezone)
        desired, digest = ("cancel", "cancelled") if voucher is None else ("upsert", payload_hash(voucher))
        cand = Candidate(po, sale_key(po), digest, desired, order.last_change.isoformat(),
                         {"purchase_order": po, "date": day, "party": party})
        return PostItem(f"Walmart PO {po}", po, day, raw, voucher, cand, order)


class CreditNotePoster(Poster):
    """A Credit Note per refunded return and PO, against the sale's bill; waits while the sale is unposted."""

    overlap = True  # prepare only maps and reads the ledger: Tally answers while the next batch is mapped

    flow = CREDIT_NOTE_FLOW
    report_keys = ("return_order", "source_id")

    def __init__(self, target: TallyTarget, ledger: SyncLedger, cfg: SalesConfig, skus: SkuResolver,
                 sales: dict[str, tuple[str, date]], run_id: str, **kwargs) -> None:
        super().__init__(target, ledger, run_id, **kwargs)
        self.cfg, self.skus, self.sales = cfg, skus, sales

    def prepare(self, record: tuple[ReturnOrder, str]) -> PostItem | None:
        ret, po = record
        self.report.read += 1
        source_id, key, raw = f"{ret.return_order_id}:{po}", credit_note_key(ret.return_order_id, po), ret.raw
        detail = {"return_order": ret.return_order_id, "purchase_order": po}
        if po not in self.sales:
            self.report.waiting += 1
            self.ledger.record_waiting(self.flow, TARGET, Candidate(source_id, key, "", detail=detail),
                                       f"the sale (PO {po}) has no Sales voucher yet", json.dumps(raw, default=str))
            return None
        try:
            voucher = return_to_credit_notes(ret, {po: self.sales[po]}, self.skus, self.cfg)[po]
        except (MappingError, ValidationError, ArithmeticError) as exc:
            self.fail_unclaimed(source_id, key, ret.return_order_id, raw, str(exc), detail=detail)
            return None
        cand = Candidate(source_id, key, payload_hash(voucher), "upsert", None, {**detail, "date": voucher.date})
        return PostItem(f"Walmart return {ret.return_order_id}", ret.return_order_id, voucher.date, raw, voucher,
                        cand, ret)


class VoucherPoster(Poster):
    """Posts vouchers a mapping already built, keyed by their external key (settlement Receipts, Journal)."""

    overlap = True  # prepare only maps and reads the ledger: Tally answers while the next batch is mapped

    report_keys = ("voucher", "source_id")

    def __init__(self, flow: str, target: TallyTarget, ledger: SyncLedger, run_id: str, **kwargs) -> None:
        super().__init__(target, ledger, run_id, **kwargs)
        self.flow = flow

    def prepare(self, record: tuple[str, str, Voucher, dict]) -> PostItem | None:
        source_id, key, voucher, raw = record
        self.report.read += 1
        cand = Candidate(source_id, key, payload_hash(voucher), "upsert", None,
                         {"voucher": key, "date": voucher.date})
        return PostItem(key, key, voucher.date, raw, voucher, cand)


def posted_sales(ledger: SyncLedger, purchase_orders: list[str]) -> dict[str, tuple[str, date]]:
    """PO -> (party, date) of every sale whose Sales voucher is posted (and not cancelled)."""
    out: dict[str, tuple[str, date]] = {}
    for po, entry in ledger.outcomes(SALES_FLOW, TARGET, purchase_orders).items():
        party, day = entry.detail.get("party"), entry.detail.get("date")
        if entry.state == "posted" and not entry.cancelled and party and day:
            out[po] = (party, date.fromisoformat(str(day)[:10]))
    return out
