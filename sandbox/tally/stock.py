"""Balances derived from vouchers: closing stock per item and closing balance per ledger."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .company import Company
from .model import ACCOUNTING_TYPES, INVOICE_TYPES, LEDGER, STOCK_TYPES, STOCKITEM, ZERO, InventoryLine, Voucher
from .values import CENT


@dataclass(slots=True)
class StockPosition:
    """Closing quantity plus what average-cost valuation needs (opening + inward qty and value)."""

    qty: Decimal
    in_qty: Decimal
    in_value: Decimal

    def rate(self) -> Decimal:
        return (self.in_value / self.in_qty).quantize(CENT) if self.in_qty else ZERO

    def value(self) -> Decimal:
        # Stock is an asset, so its value is a debit: negative, like OPENINGVALUE (reference §4).
        return -(self.qty * self.rate()).quantize(CENT)


class BaseTypes:
    """Memoised voucher-type → predefined base type for one pass over many vouchers."""

    def __init__(self, company: Company) -> None:
        self.company = company
        self._cache: dict[int, str] = {}

    def of(self, voucher: Voucher) -> str:
        key = voucher.vtype.master_id
        if key not in self._cache:
            self._cache[key] = self.company.base_type(voucher.vtype)
        return self._cache[key]


def movements(voucher: Voucher, base: str) -> Iterator[tuple[InventoryLine, Decimal]]:
    """Signed quantities a voucher moves: + inward (ISDEEMEDPOSITIVE Yes), - outward."""
    if voucher.cancelled or voucher.optional or base not in STOCK_TYPES:
        return
    for line in voucher.inventory_lines:
        if base in INVOICE_TYPES and line.tracked():
            continue  # invoiced against a delivery/receipt note, which already moved the goods
        yield line, line.actual_qty if line.deemed_positive else -line.actual_qty


def stock_positions(company: Company, end: date | None = None) -> dict[int, StockPosition]:
    """Per item MasterID: opening + inward - outward over vouchers dated up to `end`."""
    positions = {
        item.master_id: StockPosition(item.opening_qty, item.opening_qty,
                                      item.opening_qty * (item.opening_rate or ZERO))
        for item in company.masters[STOCKITEM].values()
    }
    bases = BaseTypes(company)
    for voucher in company.between(None, end):
        for line, qty in movements(voucher, bases.of(voucher)):
            pos = positions[line.item.master_id]
            pos.qty += qty
            if qty > 0:
                pos.in_qty += qty
                pos.in_value += abs(line.amount)
    return positions


def ledger_balances(company: Company, end: date | None = None) -> dict[int, Decimal]:
    """Per ledger MasterID: opening balance plus postings of accounting vouchers up to `end`."""
    balances = {ledger.master_id: ledger.opening_balance for ledger in company.masters[LEDGER].values()}
    bases = BaseTypes(company)
    for voucher in company.between(None, end):
        if voucher.cancelled or voucher.optional or bases.of(voucher) not in ACCOUNTING_TYPES:
            continue
        for line in voucher.ledger_lines:
            balances[line.ledger.master_id] += line.amount
        for item in voucher.inventory_lines:
            for alloc in item.allocations:
                balances[alloc.ledger.master_id] += alloc.amount
    return balances
