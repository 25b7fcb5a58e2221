"""Reconciliation (settlement) report files (reference §9), read as a stream of amount lines.

A file is a ZIP holding one CSV (a bare CSV is accepted too). Two layouts, told apart by the header
row (some Seller Center downloads put a few preamble rows first, so the first rows are searched):

- **v1** (``Period Start Date`` / ``Amount Type`` in the header): long, one row per amount
  component; each row becomes one :class:`SettlementLine`. The ``PaymentSummary`` row carries the
  period and ``Total Payable`` (the deposit) and is not itself a line.
- **legacy** (``Walmart.com PO #``): wide, one row per PO line; each non-zero amount column in
  :data:`LEGACY_AMOUNT_COLUMNS` becomes a line whose amount type is the column name. Whatever part of
  ``Payable to Partner from Sale`` those columns do not explain becomes a line of its own (amount
  type ``Payable to Partner from Sale``): adjustments carry their amount only there. The payout is
  the sum of ``Payable to Partner from Sale``.

Rows are read one at a time from the unzipped stream, so a 50,000-row file never sits in memory.
Numbers arrive as strings (``Decimal``, never float); GTIN-like ``="0123"`` wrappers are removed;
PO numbers stay strings. A value that does not parse raises ``RecordError`` naming the row and column.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Literal

from connectors.common.errors import RecordError
from connectors.walmart.settings import SYSTEM

Layout = Literal["v1", "legacy"]
PAYMENT_SUMMARY = "PaymentSummary"
HEADER_SEARCH_ROWS = 10
LEGACY_PAYABLE = "Payable to Partner from Sale"
# Components of the legacy wide row that add up to what Walmart pays for it (§9). The individual tax
# columns are parts of "Total NET Tax Collected" and are not read separately.
LEGACY_AMOUNT_COLUMNS = (
    "Gross Sales Revenue", "Refunded Retail Sales", "Sales refund for Escalation",
    "Gross Shipping Revenue", "Gross Shipping Refunded", "Shipping refund for Escalation",
    "Gross Fee Revenue", "Gross Fee Refunded", "Fee refund for Escalation",
    "Gross Gift-Wrap Revenue", "Gross Gift-Wrap Refunded", "Gift-wrap refund for Escalation",
    "Total NET Tax Collected", "Tax Withheld", "Commission from Sale",
)


@dataclass(frozen=True)
class SettlementLine:
    """One amount of a settlement: what kind (transaction type, amount type), how much, for which PO."""

    row: int
    transaction_type: str
    amount_type: str
    amount: Decimal
    purchase_order_id: str = ""
    purchase_order_line: str = ""
    customer_order_id: str = ""
    transaction_key: str = ""
    posted: date | None = None
    sku: str = ""
    description: str = ""


@dataclass
class SettlementSummary:
    """The report's own totals; ``total_payable`` is the deposit the lines must add up to."""

    layout: Layout
    total_payable: Decimal | None = None
    currency: str = "USD"
    period_start: date | None = None
    period_end: date | None = None
    rows: int = 0
    lines: int = 0
    line_total: Decimal = field(default=Decimal(0))


class ReconReport:
    """A reconciliation file opened for one pass: :meth:`lines` streams, :attr:`summary` fills as it goes."""

    def __init__(self, file: IO[bytes], *, name: str = "report") -> None:
        self.name = name
        self._text = _open_text(file)
        self._reader = csv.reader(self._text)
        self._row = 0
        self.header = self._find_header()
        self.layout: Layout = _layout(self.header, name)
        self.summary = SettlementSummary(layout=self.layout)
        self._index = {_norm(h): i for i, h in enumerate(self.header)}

    def lines(self) -> Iterator[SettlementLine]:
        """Every amount line, in file order; the summary is complete once this is exhausted."""
        explode = self._v1_lines if self.layout == "v1" else self._legacy_lines
        for row in self._reader:
            self._row += 1
            if not any(cell.strip() for cell in row):
                continue
            self.summary.rows += 1
            for line in explode(row):
                self.summary.lines += 1
                self.summary.line_total += line.amount
                yield line

    # --- layouts ----------------------------------------------------------------------------------
    def _v1_lines(self, row: list[str]) -> Iterator[SettlementLine]:
        kind = self._cell(row, "Transaction Type")
        self._period(row)
        if kind == PAYMENT_SUMMARY:
            self.summary.total_payable = self._money(row, "Total Payable")
            return
        yield SettlementLine(
            row=self._row, transaction_type=kind, amount_type=self._cell(row, "Amount Type"),
            amount=self._money(row, "Amount"), purchase_order_id=self._cell(row, "Purchase Order #"),
            purchase_order_line=self._cell(row, "Purchase Order line #"),
            customer_order_id=self._cell(row, "Customer Order #"), transaction_key=self._cell(row, "Transaction Key"),
            posted=self._date(row, "Transaction Posted Timestamp"), sku=self._cell(row, "Partner Item Id"),
            description=self._cell(row, "Transaction Description"))

    def _legacy_lines(self, row: list[str]) -> Iterator[SettlementLine]:
        payable = self._money(row, LEGACY_PAYABLE)
        self.summary.total_payable = (self.summary.total_payable or Decimal(0)) + payable
        common = dict(row=self._row, transaction_type=self._cell(row, "Transaction Type"),
                      purchase_order_id=self._cell(row, "Walmart.com PO #"),
                      purchase_order_line=self._cell(row, "Walmart.com P.O. Line #"),
                      customer_order_id=self._cell(row, "Walmart.com Order #"),
                      posted=self._date(row, "Transaction Date Time"), sku=self._cell(row, "Partner Item ID"),
                      description=self._cell(row, "Adjustment Description"))
        explained = Decimal(0)
        for column in LEGACY_AMOUNT_COLUMNS:
            amount = self._money(row, column) if _norm(column) in self._index else Decimal(0)
            if amount:
                explained += amount
                yield SettlementLine(amount_type=column, amount=amount, **common)
        if payable != explained:
            yield SettlementLine(amount_type=LEGACY_PAYABLE, amount=payable - explained, **common)

    # --- cells ------------------------------------------------------------------------------------
    def _cell(self, row: list[str], column: str) -> str:
        index = self._index.get(_norm(column))
        if index is None or index >= len(row):
            return ""
        value = row[index].strip()
        if value.startswith('="') and value.endswith('"'):
            value = value[2:-1]
        return value

    def _money(self, row: list[str], column: str) -> Decimal:
        text = self._cell(row, column).replace(",", "").replace("$", "")
        if text.startswith("(") and text.endswith(")"):
            text = "-" + text[1:-1]
        try:
            value = Decimal(text) if text else Decimal(0)
        except InvalidOperation:
            raise self._error(column, f"not an amount: {text!r}") from None
        if not value.is_finite():
            raise self._error(column, f"not an amount: {text!r}")
        return value

    def _date(self, row: list[str], column: str) -> date | None:
        text = self._cell(row, column)
        if not text:
            return None
        for fmt, width in (("%m/%d/%Y", 10), ("%Y-%m-%d", 10), ("%m%d%Y", 8)):
            try:
                return datetime.strptime(text[:width], fmt).date()
            except ValueError:
                continue
        raise self._error(column, f"not a date: {text!r}")

    def _period(self, row: list[str]) -> None:
        if self.summary.period_start is None:
            self.summary.period_start = self._date(row, "Period Start Date")
            self.summary.period_end = self._date(row, "Period End Date")
            self.summary.currency = self._cell(row, "Currency") or self.summary.currency

    def _error(self, column: str, message: str) -> RecordError:
        return RecordError(SYSTEM, f"{self.name} row {self._row}", column, message)

    def _find_header(self) -> list[str]:
        for _ in range(HEADER_SEARCH_ROWS):
            row = next(self._reader, None)
            self._row += 1
            if row is None:
                break
            names = {_norm(cell) for cell in row}
            if {"amount type", "period start date"} & names or "walmart.com po #" in names:
                return [cell.strip() for cell in row]
        raise RecordError(SYSTEM, self.name, "header", "no reconciliation header row (neither v1 nor legacy)")


def _layout(header: list[str], name: str) -> Layout:
    names = {_norm(h) for h in header}
    if "amount type" in names and "amount" in names:
        return "v1"
    if "walmart.com po #" in names and _norm(LEGACY_PAYABLE) in names:
        return "legacy"
    raise RecordError(SYSTEM, name, "header", "header names neither the v1 nor the legacy columns")


def _norm(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).lower()


def _open_text(file: IO[bytes]) -> IO[str]:
    """The CSV inside a ZIP (the one member), or the file itself when it is not a ZIP."""
    start = file.read(4)
    file.seek(0)
    if start.startswith(b"PK"):
        archive = zipfile.ZipFile(file)
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) != 1:
            raise RecordError(SYSTEM, "report", "zip", f"expected one CSV in the ZIP, found {len(members)}")
        return io.TextIOWrapper(archive.open(members[0]), encoding="utf-8-sig", newline="")
    return io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
