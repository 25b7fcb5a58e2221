"""Turn a `<VOUCHER>` element into a validated `Voucher`, checking it the way Tally does (reference §3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

from lxml import etree

from .company import Company
from .costcentres import CATEGORY_LIST, check_allocations
from .model import (
    DEFAULT_BATCH,
    GODOWN,
    LEDGER,
    STOCKITEM,
    UNIT,
    VOUCHERTYPE,
    ZERO,
    Batch,
    InventoryLine,
    LedgerLine,
    Master,
    Voucher,
)
from .raw import raw_node
from .replies import Rejected
from .values import fmt_amount, human_date, is_yes, parse_amount, parse_quantity, parse_rate, parse_ymd, round_qty
from .xmlio import attr, scan_values, text, value

_HEADER = frozenset({"DATE", "VOUCHERTYPENAME", "VOUCHERNUMBER", "REFERENCE", "PARTYLEDGERNAME", "NARRATION",
                     "ISCANCELLED", "ISOPTIONAL", "PERSISTEDVIEW", "GUID", "MASTERID", "ALTERID", "VOUCHERKEY"})
LEDGER_LISTS = ("ALLLEDGERENTRIES.LIST", "LEDGERENTRIES.LIST")
INVENTORY_LISTS = ("ALLINVENTORYENTRIES.LIST", "INVENTORYENTRIES.LIST", "INVENTORYENTRIESIN.LIST",
                   "INVENTORYENTRIESOUT.LIST")
_LEDGER_LISTS, _INVENTORY_LISTS = frozenset(LEDGER_LISTS), frozenset(INVENTORY_LISTS)
_LINE_TAGS = frozenset({"LEDGERNAME", "ISDEEMEDPOSITIVE", "ISPARTYLEDGER", "AMOUNT"})
_ITEM_FIELDS = frozenset({"STOCKITEMNAME", "ISDEEMEDPOSITIVE", "AMOUNT", "RATE", "ACTUALQTY", "BILLEDQTY"})
_BATCH_TAGS = frozenset({"GODOWNNAME", "BATCHNAME", "ORDERNO", "TRACKINGNUMBER", "ORDERDUEDATE", "AMOUNT",
                         "ACTUALQTY", "BILLEDQTY"})


def build_voucher(company: Company, el: etree._Element, *, default_number: str = "") -> Voucher:
    """Validate in Tally's order (type, date, masters, signs, totals); raise `Rejected` on the first fault."""
    # each child's tag read once (lxml makes a new string each time it is asked)
    children = [(tag, node) for node in el if (tag := node.tag).__class__ is str]
    head = {tag: node for tag, node in children if tag in _HEADER}
    vtype = _voucher_type(company, value(head.get("VOUCHERTYPENAME")) or attr(el, "VCHTYPE"))
    number = value(head.get("VOUCHERNUMBER")) or default_number
    voucher = Voucher(vtype, _date(company, vtype, text(head.get("DATE")), number), number)
    voucher.reference = value(head.get("REFERENCE"))
    voucher.narration = text(head.get("NARRATION"))
    voucher.remote_id = attr(el, "REMOTEID")
    voucher.view = attr(el, "OBJVIEW") or value(head.get("PERSISTEDVIEW"))
    voucher.cancelled = is_yes(text(head.get("ISCANCELLED")))
    voucher.optional = is_yes(text(head.get("ISOPTIONAL")))
    party = value(head.get("PARTYLEDGERNAME"))
    voucher.party = _ledger(company, party) if party else None
    _read_body(company, children, voucher)
    check_signs(voucher)
    check_totals(voucher)
    voucher.number = voucher.number or company.next_number(vtype)
    return voucher


def _read_body(company: Company, children: list[tuple[str, etree._Element]], voucher: Voucher) -> None:
    for tag, node in children:
        if tag in _LEDGER_LISTS:
            line = ledger_line(company, node, tag)
            if line is not None:
                voucher.ledger_lines.append(line)
        elif tag in _INVENTORY_LISTS:
            voucher.inventory_lines.append(_inventory_line(company, node, tag))
        elif tag in _HEADER:
            continue
        elif len(node):
            voucher.extra.append(raw_node(node))
        else:
            voucher.fields[tag] = text(node)
    if not voucher.ledger_lines and not voucher.inventory_lines:
        raise Rejected("[sandbox] Voucher has no ledger or inventory entries")


def _voucher_type(company: Company, name: str) -> Master:
    found = company.master(VOUCHERTYPE, name)
    if found is None:
        raise Rejected(f"Voucher Type '{name}' does not exist!")
    return found


def _date(company: Company, vtype: Master, raw: str, number: str) -> date:
    day = parse_ymd(raw)
    if day is None:
        raise Rejected(f"Voucher date is missing for '{vtype.name}' voucher '{number}'")
    if day < company.books_from:
        raise Rejected(f"Voucher date '{human_date(day)}' is before the Books Beginning date "
                       f"'{human_date(company.books_from)}'!")
    return day


def _ledger(company: Company, name: str) -> Master:
    found = company.master(LEDGER, name)
    if found is None:
        raise Rejected(f"Ledger '{name}' does not exist!")
    return found


def ledger_line(company: Company, node: etree._Element, tag: str | None = None) -> LedgerLine | None:
    """A ledger entry or accounting allocation (`tag`: the node's, if known); an empty placeholder list yields
    None."""
    first, others = scan_values(node, _LINE_TAGS)
    name = first.get("LEDGERNAME", "")
    if not name and "AMOUNT" not in first:
        return None
    ledger = _ledger(company, name)
    if not others:
        return LedgerLine(ledger, _amount(first.get("AMOUNT", "")), is_yes(first.get("ISDEEMEDPOSITIVE", "")),
                          is_yes(first.get("ISPARTYLEDGER", "")), tag or node.tag)
    if any(c.tag == CATEGORY_LIST for c in others):
        check_allocations(company, node)
    return LedgerLine(
        ledger, _amount(first.get("AMOUNT", "")),
        is_yes(first.get("ISDEEMEDPOSITIVE", "")), is_yes(first.get("ISPARTYLEDGER", "")),
        tag or node.tag, tuple(raw_node(c) for c in others),
    )


def _inventory_line(company: Company, node: etree._Element, tag: str) -> InventoryLine:
    # BATCHALLOCATIONS / ACCOUNTINGALLOCATIONS come back with the unknown tags, in document order
    first, subs = scan_values(node, _ITEM_FIELDS)
    name = first.get("STOCKITEMNAME", "")
    item = company.master(STOCKITEM, name)
    if item is None:
        raise Rejected(f"Stock Item '{name}' does not exist!")
    unit = company.master(UNIT, item.base_unit)
    places = unit.decimal_places if unit else None
    actual = _quantity(item, places, first.get("ACTUALQTY", ""))
    billed = _quantity(item, places, first.get("BILLEDQTY", ""))
    actual = actual if actual is not None else billed
    billed = billed if billed is not None else actual
    line = InventoryLine(item, is_yes(first.get("ISDEEMEDPOSITIVE", "")),
                         _amount(first.get("AMOUNT", "")), actual or ZERO, billed or ZERO,
                         _rate(item, first.get("RATE", "")), tag=tag)
    extra = []
    for sub in subs:
        sub_tag = sub.tag
        if sub_tag == "BATCHALLOCATIONS.LIST":
            line.batches.append(_batch(company, item, places, sub))
        elif sub_tag == "ACCOUNTINGALLOCATIONS.LIST":
            if (alloc := ledger_line(company, sub, sub_tag)) is not None:
                line.allocations.append(alloc)
        else:
            extra.append(raw_node(sub))
    if extra:
        line.extra = tuple(extra)
    if not line.batches:
        # Tally always keeps one batch allocation (godown + Primary Batch), reference §3.
        line.batches.append(Batch(_godown(company, ""), amount=line.amount, actual_qty=line.actual_qty,
                                  billed_qty=line.billed_qty))
    return line


def _batch(company: Company, item: Master, places: int | None, node: etree._Element) -> Batch:
    first, others = scan_values(node, _BATCH_TAGS)
    raw_amount = first.get("AMOUNT", "")
    return Batch(
        _godown(company, first.get("GODOWNNAME", "")), first.get("BATCHNAME", "") or DEFAULT_BATCH,
        first.get("ORDERNO", ""), first.get("TRACKINGNUMBER", ""), first.get("ORDERDUEDATE", ""),
        _amount(raw_amount) if raw_amount.strip() else None,
        _quantity(item, places, first.get("ACTUALQTY", "")), _quantity(item, places, first.get("BILLEDQTY", "")),
        tuple(raw_node(c) for c in others) if others else (),
    )


def _godown(company: Company, name: str) -> Master:
    if not name:
        godowns = list(company.masters[GODOWN].values())
        if len(godowns) == 1:
            return godowns[0]
        # Godown omitted where locations are tracked: Tally's blank EXCEPTIONS 1 (reference §5).
        raise Rejected("", structural=True)
    found = company.master(GODOWN, name)
    if found is None:
        raise Rejected(f"Godown '{name}' does not exist!")
    return found


def _amount(raw: str) -> Decimal:
    try:
        return parse_amount(raw) if raw.strip() else ZERO
    except ValueError as exc:
        raise Rejected(str(exc), structural=True) from exc


def _quantity(item: Master, places: int | None, raw: str) -> Decimal | None:
    """A quantity in the item's base unit, rounded to that unit's places (None: no such unit master)."""
    try:
        qty, unit, rounded = _read_quantity(raw, places)
    except ValueError as exc:
        raise Rejected(str(exc), structural=True) from exc
    _check_unit(item, unit)
    if rounded is None and qty is not None and places is not None:
        return round_qty(qty, places)  # it cannot be rounded: raises as it did when read
    return rounded


@lru_cache(maxsize=4096)  # a batch of vouchers repeats the same few quantities (" 1 Nos") four times a stock line
def _read_quantity(raw: str, places: int | None) -> tuple[Decimal | None, str, Decimal | None]:
    """A quantity text as `_quantity` reads it before its unit is checked: the quantity, its unit and the
    quantity rounded to `places` (None where it cannot be); all None and "" for a blank text."""
    if not raw.strip():
        return None, "", None
    qty, unit = parse_quantity(raw)
    if places is None:
        return qty, unit, qty
    try:
        return qty, unit, round_qty(qty, places)
    except ArithmeticError:
        return qty, unit, None


def _rate(item: Master, raw: str) -> Decimal | None:
    if not raw.strip():
        return None
    try:
        rate, unit = parse_rate(raw)
    except ValueError as exc:
        raise Rejected(str(exc), structural=True) from exc
    _check_unit(item, unit)
    return rate


def _check_unit(item: Master, unit: str) -> None:
    if unit and unit != item.base_unit:
        raise Rejected(f"[sandbox] Unit '{unit}' is not the base unit '{item.base_unit}' "
                       f"of Stock Item '{item.name}'")


def check_signs(voucher: Voucher) -> None:
    """Reference §3: ISDEEMEDPOSITIVE Yes goes with a negative AMOUNT, No with a positive one."""
    lines: list[tuple[str, Master, bool, Decimal]] = [
        ("Ledger", ln.ledger, ln.deemed_positive, ln.amount) for ln in voucher.ledger_lines
    ]
    for item in voucher.inventory_lines:
        lines.append(("Stock Item", item.item, item.deemed_positive, item.amount))
        lines += [("Ledger", a.ledger, a.deemed_positive, a.amount) for a in item.allocations]
    for kind, master, positive, amount in lines:
        if amount and (amount < 0) != positive:
            flag = "Yes" if positive else "No"
            raise Rejected(f"[sandbox] ISDEEMEDPOSITIVE {flag} disagrees with AMOUNT {fmt_amount(amount)} "
                           f"of {kind} '{master.name}': Yes = debit = negative amount")


def check_totals(voucher: Voucher) -> None:
    if not voucher.ledger_lines:
        return  # inventory-only vouchers (stock journal, plain notes) carry no Dr/Cr pair
    amounts = [ln.amount for ln in voucher.ledger_lines] + [ln.amount for ln in voucher.inventory_lines]
    debit = -sum((a for a in amounts if a < 0), ZERO)
    credit = sum((a for a in amounts if a > 0), ZERO)
    if debit != credit:
        raise Rejected(f"Voucher totals do not match! Dr: {fmt_amount(debit)} Cr: {fmt_amount(credit)} "
                       f"Diff: {fmt_amount(abs(debit - credit))}")
