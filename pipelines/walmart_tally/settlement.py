"""Pure mapping of a Walmart settlement (reconciliation report) to Receipt vouchers and a fee journal.

Every amount line is coded by (transaction type, amount type) to a role or a ledger: the CSV
`WALMART_SETTLEMENT_CODES` (`transaction_type,amount_type,ledger`; `*` matches any amount type; a
ledger written `=party`, `=commission`, `=fee`, `=adjustment`, `=clearing` or `=tax` means that
role's configured ledger) first, then the defaults below. Nothing is guessed: a line no code covers
holds the whole settlement back, naming its types, until the CSV codes it.

- `party` lines (what the customer paid or was refunded: price, shipping, tax) settle the sales
  bill-wise: Receipt vouchers crediting each sale's party against its bill (the PO number), the
  bank debited (one Receipt per `RECEIPT_BILLS` bills);
- every other line goes to its ledger in one Journal, in the report's sign (Walmart withholding a
  commission is negative: a debit of the commission ledger), the bank taking the balance.

So the bank receives, over the Receipts and the Journal together, exactly the sum of the report's
lines, which must equal the deposit (`Total Payable`) to the cent, or the settlement is held back.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from connectors.tally.models import Voucher
from connectors.walmart.reports import SettlementLine, SettlementSummary
from pipelines.sides.errors import MappingError
from pipelines.sides.tally.builders import BillPayment, Header, JournalLine, journal, money, receipt_of_bills
from pipelines.sides.tally.markers import marker

ROLES = ("party", "commission", "fee", "adjustment", "clearing", "tax")
RECEIPT_BILLS = 100
ANY = "*"
# (transaction type, amount type) -> "=role", lower-cased. v1 vocabulary: reference §9 (Amount Type
# beyond "Product Price" was not captured there); legacy: the wide layout's column names.
DEFAULT_CODES: dict[tuple[str, str], str] = {
    **{(kind, amount): "=party" for kind in ("sale", "refund") for amount in (
        "product price", "product tax", "shipping price", "shipping tax", "shipping", "gift wrap price",
        "gift wrap tax", "fee/reimbursement")},
    **{(kind, amount): "=commission" for kind in ("sale", "refund") for amount in (
        "commission on product", "commission on shipping", "commission on gift wrap")},
    **{(kind, amount): "=tax" for kind in ("sale", "refund") for amount in (
        "product tax withheld", "shipping tax withheld", "gift wrap tax withheld")},
    ("adjustment", ANY): "=adjustment", ("dispute settlement", ANY): "=adjustment",
    ("service fee", ANY): "=fee", ("reserve", ANY): "=clearing", ("release reserve", ANY): "=clearing",
    **{(kind, column): "=party" for kind in ("sale", "refunded") for column in (
        "gross sales revenue", "refunded retail sales", "sales refund for escalation", "gross shipping revenue",
        "gross shipping refunded", "shipping refund for escalation", "gross fee revenue", "gross fee refunded",
        "fee refund for escalation", "gross gift-wrap revenue", "gross gift-wrap refunded",
        "gift-wrap refund for escalation", "total net tax collected")},
    ("sale", "commission from sale"): "=commission", ("refunded", "commission from sale"): "=commission",
    ("sale", "tax withheld"): "=tax", ("refunded", "tax withheld"): "=tax",
    ("adjmnt", ANY): "=adjustment",
}


@dataclass(frozen=True)
class SettlementLedgers:
    receipt_type: str = "Receipt"
    journal_type: str = "Journal"
    bank: str = "Walmart Payouts"
    commission: str = "Walmart Commission"
    fee: str = "Walmart Fees"
    adjustment: str = "Walmart Adjustments"
    clearing: str = "Walmart Marketplace"
    tax: str = "Output Tax"
    codes: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def code(self, transaction_type: str, amount_type: str) -> str | None:
        """The ledger (or `=party`) a line of these types goes to; ``None``: not coded."""
        kind, amount = transaction_type.strip().lower(), amount_type.strip().lower()
        for table in (self.codes, DEFAULT_CODES):
            found = table.get((kind, amount)) or table.get((kind, ANY))
            if found:
                return self._resolve(found)
        return None

    def _resolve(self, target: str) -> str:
        role = target[1:].lower() if target.startswith("=") else None
        if role is None or role == "party":
            return target if role is None else "=party"
        return getattr(self, role)


@dataclass
class TypeTotal:
    target: str | None
    lines: int = 0
    amount: Decimal = Decimal(0)


@dataclass
class SettlementBook:
    """A settlement's lines coded and summed: bills by PO, ledgers, and totals by type (small at any size)."""

    bills: dict[str, Decimal] = field(default_factory=dict)
    ledgers: dict[str, Decimal] = field(default_factory=dict)
    types: dict[tuple[str, str], TypeTotal] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def uncoded(self) -> dict[tuple[str, str], TypeTotal]:
        return {k: t for k, t in self.types.items() if t.target is None}

    @property
    def total(self) -> Decimal:
        return sum(self.bills.values(), Decimal(0)) + sum(self.ledgers.values(), Decimal(0))


def code_settlement(lines: Iterable[SettlementLine], ledgers: SettlementLedgers) -> SettlementBook:
    """Code and sum every line (one pass over a stream)."""
    book = SettlementBook()
    for line in lines:
        key = (line.transaction_type, line.amount_type)
        total = book.types.get(key)
        if total is None:
            total = book.types[key] = TypeTotal(ledgers.code(*key))
        total.lines += 1
        total.amount += line.amount
        if total.target is None:
            continue
        if total.target == "=party":
            if not line.purchase_order_id:
                book.problems.append(f"row {line.row}: {key[0]}/{key[1]} settles a sale but names no PO")
                continue
            book.bills[line.purchase_order_id] = book.bills.get(line.purchase_order_id, Decimal(0)) + line.amount
        else:
            book.ledgers[total.target] = book.ledgers.get(total.target, Decimal(0)) + line.amount
    return book


@dataclass(frozen=True)
class SettlementVouchers:
    receipts: list[tuple[str, Voucher]]  # (key, voucher)
    journal: tuple[str, Voucher] | None
    posted_total: Decimal


def receipt_key(report_date: str, number: int) -> str:
    return f"wm-settle-{report_date}-r{number}"


def journal_key(report_date: str) -> str:
    return f"wm-settle-{report_date}-j"


def settlement_vouchers(report_date: str, book: SettlementBook, summary: SettlementSummary,
                        parties: Mapping[str, str], ledgers: SettlementLedgers) -> SettlementVouchers:
    """Receipts and the journal of one settlement; a `MappingError` holds the settlement back."""
    record = f"Walmart settlement {report_date}"
    _check(record, book, summary, parties)
    day = report_day(report_date)
    receipts = []
    bills = sorted((po, money(amount)) for po, amount in book.bills.items() if money(amount))
    for number, start in enumerate(range(0, len(bills), RECEIPT_BILLS), start=1):
        key = receipt_key(report_date, number)
        chunk = [BillPayment(parties[po], po, amount) for po, amount in bills[start:start + RECEIPT_BILLS]]
        header = Header(record=record, voucher_type=ledgers.receipt_type, date=day, party=chunk[0].party,
                        number=key, narration=f"Walmart settlement {report_date} receipt {number} {marker(key)}")
        receipts.append((key, receipt_of_bills(header, chunk, ledgers.bank)))
    return SettlementVouchers(receipts, _journal(record, report_date, day, book, ledgers), money(book.total))


def _journal(record: str, report_date: str, day: date, book: SettlementBook,
             ledgers: SettlementLedgers) -> tuple[str, Voucher] | None:
    lines = [JournalLine(name, money(amount)) for name, amount in sorted(book.ledgers.items()) if money(amount)]
    if not lines:
        return None
    key = journal_key(report_date)
    bank = -sum((line.amount for line in lines), Decimal(0))
    header = Header(record=record, voucher_type=ledgers.journal_type, date=day, number=key,
                    narration=f"Walmart settlement {report_date}: commissions, fees, adjustments {marker(key)}")
    return key, journal(header, [*lines, JournalLine(ledgers.bank, bank)] if bank else lines)


def _check(record: str, book: SettlementBook, summary: SettlementSummary, parties: Mapping[str, str]) -> None:
    if book.uncoded:
        kinds = "; ".join(f"{k[0]}/{k[1]} ({t.lines} line(s), {t.amount})" for k, t in sorted(book.uncoded.items()))
        raise MappingError(record, "Transaction Type/Amount Type",
                           f"not coded to a ledger (add them to WALMART_SETTLEMENT_CODES): {kinds}")
    if book.problems:
        raise MappingError(record, "Purchase Order #", "; ".join(book.problems[:10]))
    missing = sorted(po for po in book.bills if po not in parties)
    if missing:
        raise MappingError(record, "Purchase Order #", f"no Sales voucher posted for PO(s) {', '.join(missing[:10])}"
                           + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""))
    if summary.total_payable is None:
        raise MappingError(record, "Total Payable", "the report states no deposit to check the lines against")
    if money(book.total) != money(summary.total_payable):
        raise MappingError(record, "Total Payable", f"the lines add up to {money(book.total)} but the deposit is "
                           f"{money(summary.total_payable)}")


def report_day(report_date: str) -> date:
    """The report date as Walmart spells it (``MMDDYYYY`` in the samples, ``YYYYMMDD`` in one guide, §9)."""
    text = report_date.strip()
    month_first = text[:2].isdigit() and int(text[:2]) <= 12
    for fmt in (("%m%d%Y", "%Y%m%d") if month_first else ("%Y%m%d", "%m%d%Y")) + ("%Y-%m-%d",):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise MappingError(f"Walmart settlement {report_date}", "reportDate", "not a date Walmart uses")


def read_settlement_codes(path: Path | None) -> dict[tuple[str, str], str]:
    """`transaction_type,amount_type,ledger` CSV (WALMART_SETTLEMENT_CODES); a header row is allowed."""
    if not path:
        return {}
    codes: dict[tuple[str, str], str] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for line, row in enumerate(csv.reader(handle), start=1):
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].lower() == "transaction_type":
                continue
            if len(cells) < 3 or not cells[0] or not cells[1] or not cells[2]:
                raise ValueError(f"WALMART_SETTLEMENT_CODES line {line}: expected 'transaction_type,amount_type,"
                                 f"ledger', got {row!r}")
            if cells[2].startswith("=") and cells[2][1:].lower() not in ROLES:
                raise ValueError(f"WALMART_SETTLEMENT_CODES line {line}: unknown role {cells[2]!r}"
                                 f" (roles: {', '.join(ROLES)})")
            codes[(cells[0].lower(), cells[1].lower())] = cells[2]
    return codes
