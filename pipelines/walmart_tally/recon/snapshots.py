"""Rows of the Walmart ↔ TallyPrime snapshot tables, from Walmart records and Tally vouchers. No I/O."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from connectors.common.timezones import local_date
from connectors.tally.models import VoucherRecord
from connectors.walmart.models import Order, ReturnOrder
from pipelines.reconciliation.snapshots import Row
from pipelines.sides.tally.builders import money
from pipelines.sides.tally.markers import MARKER_RE


def order_row(order: Order, timezone: str, fetched_at: datetime) -> Row:
    """A PO's total as its live lines say (price, shipping, tax), on its local order day."""
    live = [line for line in order.lines if not line.is_cancelled]
    total = sum((line.product_amount + line.shipping_amount + line.tax_amount for line in live), Decimal(0))
    return {"day": local_date(order.order_date, timezone), "purchase_order_id": order.purchase_order_id,
            "customer": order.customer_name or None, "order_total": money(total), "cancelled": not live,
            "fetched_at": fetched_at}


def return_rows(ret: ReturnOrder, timezone: str, fetched_at: datetime) -> list[Row]:
    """One row per PO the return touches (one Credit Note each)."""
    day = local_date(ret.return_order_date, timezone)
    return [{"day": day, "return_order_id": ret.return_order_id, "purchase_order_id": po,
             "refund_total": money(sum((line.total for line in ret.lines if line.purchase_order_id == po),
                                       Decimal(0))),
             "refunded": ret.refunded, "fetched_at": fetched_at} for po in ret.purchase_order_ids]


def voucher_row(voucher: VoucherRecord, bank_ledger: str, fetched_at: datetime) -> Row:
    """A voucher as Tally holds it: our key, its party amount (magnitude) and what it put into the bank."""
    found = MARKER_RE.search(voucher.narration or "")
    party = next((e for e in voucher.ledger_entries if e.is_party), None)
    amount = abs(sum((e.amount for e in voucher.ledger_entries if e.is_party), Decimal(0))) if party else None
    bank = sum((e.amount for e in voucher.ledger_entries if e.ledger_name == bank_ledger), Decimal(0))
    return {"day": voucher.date, "voucher_type": voucher.voucher_type, "master_id": voucher.master_id,
            "ext_key": found.group(1) if found else None, "party": party.ledger_name if party else None,
            "amount": amount, "bank_amount": bank, "cancelled": voucher.is_cancelled, "fetched_at": fetched_at}


def settlement_rows(settlement: dict, types: Iterable[tuple], fetched_at: datetime) -> tuple[Row, list[Row]]:
    """A staged settlement (walmart_settlements) and its totals by type, on its report day."""
    day: date = settlement["day"]
    row = {"day": day, "report_date": settlement["report_date"], "payout": settlement["total_payable"],
           "posted_total": settlement["posted_total"], "status": settlement["status"], "error": settlement["error"],
           "fetched_at": fetched_at}
    lines = [{"day": day, "report_date": settlement["report_date"], "transaction_type": t, "amount_type": a,
              "target": target, "lines": n, "amount": amount} for t, a, target, n, amount in types]
    return row, lines
