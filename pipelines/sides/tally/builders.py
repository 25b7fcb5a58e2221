"""Builders of every TallyPrime voucher kind the product posts, with Tally's sign rule in one place.

Sign rule (reference §3): a debit is a negative amount (ISDEEMEDPOSITIVE Yes), a credit a positive
amount (No), and a voucher nets to zero. Outward stock (Sales Order, Delivery Note, Sales) credits
the goods and debits the party; inward stock (Purchase Order, a Credit Note for a sales return)
mirrors every sign. A `Charge` (shipping, tax, a discount as a negative amount) sits on the goods'
side. Receipts and journals are accounting-view vouchers. A voucher Tally would refuse (it does not
net to zero) becomes a `MappingError` naming the record, so one bad record never fails the step.
Shapes: Sales Order §3.1, Delivery Note §3.3, Sales §3.4, Receipt §3.5, Credit Note §3.6.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property

from pydantic import ValidationError

from connectors.tally.models import ACCOUNTING_VIEW, BillAllocation, InventoryEntry, LedgerEntry, OrderRef, Voucher
from pipelines.sides.errors import MappingError
from pipelines.sides.tally.skus import StockItemRef

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Header:
    """What every voucher carries; `record` names the source record in errors."""

    record: str
    voucher_type: str
    date: date
    narration: str
    party: str | None = None
    number: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class StockLine:
    item: StockItemRef
    quantity: Decimal
    rate: Decimal
    godown: str
    ledger: str
    order_no: str | None = None
    tracking_number: str | None = None
    cost_centre: str | None = None  # of the income line (e.g. a marketplace ship node)

    @cached_property  # read three times a line as a voucher is mapped and built; its fields cannot change
    def amount(self) -> Decimal:
        return money(self.quantity * self.rate)


@dataclass(frozen=True)
class Charge:
    """A ledger line on the goods' side: shipping, tax; a discount is a negative amount."""

    ledger: str
    amount: Decimal
    cost_centre: str | None = None


@dataclass(frozen=True)
class JournalLine:
    """A journal line in Tally's sign: debit negative, credit positive."""

    ledger: str
    amount: Decimal


def order_voucher(h: Header, lines: Sequence[StockLine], charges: Sequence[Charge] = (), *,
                  inward: bool = False) -> Voucher:
    """Sales Order (or, inward, Purchase Order): stock lines, charges, the party owes the total."""
    return _inventory_voucher(h, lines, charges, outward=not inward)


def delivery_note(h: Header, lines: Sequence[StockLine], order: OrderRef) -> Voucher:
    """Delivery Note against a Sales Order (§3.3): outward stock, linked by `INVOICEORDERLIST.LIST`."""
    return _inventory_voucher(h, lines, (), outward=True, order_refs=[order])


def sales_invoice(h: Header, lines: Sequence[StockLine], charges: Sequence[Charge] = (), *,
                  credit_period: str | None = None) -> Voucher:
    """Sales with inventory, bill-wise (§3.4): the party's bill is a New Ref named by the voucher number."""
    with _named(h):
        bill = BillAllocation(name=h.number or h.reference or "", bill_type="New Ref", amount=Decimal(0),
                              credit_period=credit_period)
    return _inventory_voucher(h, lines, charges, outward=True, bill=bill, is_invoice=True)


def credit_note(h: Header, lines: Sequence[StockLine], charges: Sequence[Charge] = (), *,
                against: str | None = None) -> Voucher:
    """Credit Note for a sales return (§3.6): stock comes back in, the party is credited against its bill."""
    with _named(h):
        bill = BillAllocation(name=against, bill_type="Agst Ref", amount=Decimal(0)) if against else None
    return _inventory_voucher(h, lines, charges, outward=False, bill=bill, is_invoice=True)


def receipt(h: Header, amount: Decimal, bank_ledger: str, *, against: str | None = None) -> Voucher:
    """Receipt (§3.5): the party is credited (against its bill when named), the bank debited."""
    with _named(h):
        paid = money(amount)
        bills = [BillAllocation(name=against, bill_type="Agst Ref", amount=paid)] if against else []
        entries = [LedgerEntry(ledger_name=_party(h), amount=paid, is_party=True, bill_allocations=bills),
                   LedgerEntry(ledger_name=bank_ledger, amount=-paid)]
        return _voucher(h, entries, [], view=ACCOUNTING_VIEW)


@dataclass(frozen=True)
class BillPayment:
    """Money received against one bill of one party (negative: paid back, e.g. a refund)."""

    party: str
    bill: str
    amount: Decimal


def receipt_of_bills(h: Header, payments: Sequence[BillPayment], bank_ledger: str) -> Voucher:
    """Receipt settling several bills (§3.5): each party credited against its bills, the bank debited the total."""
    if not payments:
        raise MappingError(h.record, "bills", "no bills to settle")
    with _named(h):
        by_party: dict[str, list[BillAllocation]] = {}
        for pay in payments:
            by_party.setdefault(pay.party, []).append(
                BillAllocation(name=pay.bill, bill_type="Agst Ref", amount=money(pay.amount)))
        entries = [LedgerEntry(ledger_name=party, amount=sum((b.amount for b in bills), Decimal(0)), is_party=True,
                               bill_allocations=bills) for party, bills in by_party.items()]
        total = sum((e.amount for e in entries), Decimal(0))
        return _voucher(h, [*entries, LedgerEntry(ledger_name=bank_ledger, amount=-total)], [],
                        view=ACCOUNTING_VIEW)


def journal(h: Header, lines: Sequence[JournalLine]) -> Voucher:
    """Journal (accounting view): lines in Tally's sign, which must net to zero."""
    with _named(h):
        entries = [LedgerEntry(ledger_name=line.ledger, amount=money(line.amount)) for line in lines]
        return _voucher(h, entries, [], view=ACCOUNTING_VIEW)


_HASH_EXCLUDE: dict = {"action": True, "master_id": True}
_HASH_EXCLUDE_CENTRES: dict = {**_HASH_EXCLUDE, "ledger_entries": {"__all__": {"cost_centre"}},
                               "inventory_entries": {"__all__": {"cost_centre"}}}


def payload_hash(voucher: Voucher) -> str:
    """A stable hash of what a voucher says, independent of how it will be sent (create or alter).

    Cost centres count only when the voucher has one, so vouchers posted before cost centres existed
    keep their hash (and are not altered for nothing).
    """
    with_centres = any(e.cost_centre for e in (*voucher.ledger_entries, *voucher.inventory_entries))
    body = voucher.model_dump_json(exclude=_HASH_EXCLUDE if with_centres else _HASH_EXCLUDE_CENTRES)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


# --- the one place signs are applied ------------------------------------------------------------
def _inventory_voucher(h: Header, lines: Sequence[StockLine], charges: Sequence[Charge], *, outward: bool,
                       order_refs: Sequence[OrderRef] = (), bill: BillAllocation | None = None,
                       is_invoice: bool = False) -> Voucher:
    if not lines:
        raise MappingError(h.record, "items", "no stock lines to put on a voucher")
    with _named(h):
        return _inventory_entries(h, lines, charges, outward=outward, order_refs=order_refs, bill=bill,
                                  is_invoice=is_invoice)


def _inventory_entries(h: Header, lines: Sequence[StockLine], charges: Sequence[Charge], *, outward: bool,
                       order_refs: Sequence[OrderRef], bill: BillAllocation | None, is_invoice: bool) -> Voucher:
    sign = Decimal(1) if outward else Decimal(-1)
    total = sum((line.amount for line in lines), Decimal(0)) + sum((money(c.amount) for c in charges), Decimal(0))
    party_amount = -sign * total
    bills = [bill.model_copy(update={"amount": party_amount})] if bill is not None else []
    party = LedgerEntry(ledger_name=_party(h), amount=party_amount, is_party=True, bill_allocations=bills)
    ledgers = [LedgerEntry(ledger_name=c.ledger, amount=sign * money(c.amount), cost_centre=c.cost_centre)
               for c in charges if c.amount]
    inventory = [InventoryEntry(stock_item=line.item.name, quantity=line.quantity, unit=line.item.unit,
                                rate=line.rate, amount=sign * line.amount, godown=line.godown,
                                order_no=line.order_no, tracking_number=line.tracking_number,
                                accounting_ledger=line.ledger, cost_centre=line.cost_centre) for line in lines]
    return _voucher(h, [party, *ledgers], inventory, order_refs=list(order_refs), is_invoice=is_invoice)


def _voucher(h: Header, entries: list[LedgerEntry], inventory: list[InventoryEntry], **extra) -> Voucher:
    with _named(h):
        return Voucher(voucher_type=h.voucher_type, action="Create", date=h.date, voucher_number=h.number,
                       reference=h.reference, party_ledger=h.party, narration=h.narration,
                       ledger_entries=entries, inventory_entries=inventory, **extra)


class _named:  # noqa: N801 - a `with` block, read as one (a class: @contextmanager cost ~2 us a voucher, used twice)
    """A line or voucher Tally's model refuses, or an amount out of Decimal's range, becomes a MappingError
    naming the record (found by the fuzzer: a bad party name on a line escaped as a bare ValidationError)."""

    __slots__ = ("h",)

    def __init__(self, h: Header) -> None:
        self.h = h

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, ValidationError):
            problem = "; ".join(err["msg"].removeprefix("Value error, ") for err in exc.errors())
            raise MappingError(self.h.record, "voucher", problem) from None
        if isinstance(exc, ArithmeticError):
            raise MappingError(self.h.record, "amount", f"amount out of range ({type(exc).__name__})") from None
        return False


def _party(h: Header) -> str:
    if not h.party:
        raise MappingError(h.record, "party", "no party ledger for the voucher")
    return h.party
