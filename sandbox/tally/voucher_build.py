"""Turn a `<VOUCHER>` element into a validated `Voucher`, checking it the way Tally does (reference §3)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

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
from .xmlio import attr, kids, scan, text, value

_HEADER = frozenset({"DATE", "VOUCHERTYPENAME", "VOUCHERNUMBER", "REFERENCE", "PARTYLEDGERNAME", "NARRATION",
                     "ISCANCELLED", "ISOPTIONAL", "PERSISTEDVIEW", "GUID", "MASTERID", "ALTERID", "VOUCHERKEY"})
LEDGER_LISTS = ("ALLLEDGERENTRIES.LIST", "LEDGERENTRIES.LIST")
INVENTORY_LISTS = ("ALLINVENTORYENTRIES.LIST", "INVENTORYENTRIES.LIST", "INVENTORYENTRIESIN.LIST",
                   "INVENTORYENTRIESOUT.LIST")
_LINE_TAGS = frozenset({"LEDGERNAME", "ISDEEMEDPOSITIVE", "ISPARTYLEDGER", "AMOUNT"})
_ITEM_FIELDS = frozenset({"STOCKITEMNAME", "ISDEEMEDPOSITIVE", "AMOUNT", "RATE", "ACTUALQTY", "BILLEDQTY"})
_BATCH_TAGS = frozenset({"GODOWNNAME", "BATCHNAME", "ORDERNO", "TRACKINGNUMBER", "ORDERDUEDATE", "AMOUNT",
                         "ACTUALQTY", "BILLEDQTY"})


def build_voucher(company: Company, el: etree._Element, *, default_number: str = "") -> Voucher:
    """Validate in Tally's order (type, date, masters, signs, totals); raise `Rejected` on the first fault."""
    children = kids(el)
    head = {node.tag: node for node in children if node.tag in _HEADER}
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


def _read_body(company: Company, children: list[etree._Element], voucher: Voucher) -> None:
    for node in children:
        if node.tag in LEDGER_LISTS:
            line = ledger_line(company, node)
            if line is not None:
                voucher.ledger_lines.append(line)
        elif node.tag in INVENTORY_LISTS:
            voucher.inventory_lines.append(_inventory_line(company, node))
        elif node.tag in _HEADER:
            continue
        elif len(node):
            voucher.extra.append(raw_node(node))
        else:
            voucher.fields[node.tag] = text(node)
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


def ledger_line(company: Company, node: etree._Element) -> LedgerLine | None:
    """A ledger entry or accounting allocation; an empty placeholder list yields None."""
    first, others = scan(node, _LINE_TAGS)
    name = value(first.get("LEDGERNAME"))
    if not name and "AMOUNT" not in first:
        return None
    ledger = _ledger(company, name)
    if any(c.tag == CATEGORY_LIST for c in others):
        check_allocations(company, node)
    return LedgerLine(
        ledger, _amount(value(first.get("AMOUNT"))),
        is_yes(value(first.get("ISDEEMEDPOSITIVE"))), is_yes(value(first.get("ISPARTYLEDGER"))),
        node.tag, tuple(raw_node(c) for c in others),
    )


def _inventory_line(company: Company, node: etree._Element) -> InventoryLine:
    # BATCHALLOCATIONS / ACCOUNTINGALLOCATIONS come back with the unknown tags, in document order
    first, subs = scan(node, _ITEM_FIELDS)
    name = value(first.get("STOCKITEMNAME"))
    item = company.master(STOCKITEM, name)
    if item is None:
        raise Rejected(f"Stock Item '{name}' does not exist!")
    unit = company.master(UNIT, item.base_unit)
    places = unit.decimal_places if unit else None
    actual = _quantity(item, places, value(first.get("ACTUALQTY")))
    billed = _quantity(item, places, value(first.get("BILLEDQTY")))
    actual = actual if actual is not None else billed
    billed = billed if billed is not None else actual
    line = InventoryLine(item, is_yes(value(first.get("ISDEEMEDPOSITIVE"))),
                         _amount(value(first.get("AMOUNT"))), actual or ZERO, billed or ZERO,
                         _rate(item, value(first.get("RATE"))), tag=node.tag)
    extra = []
    for sub in subs:
        if sub.tag == "BATCHALLOCATIONS.LIST":
            line.batches.append(_batch(company, item, places, sub))
        elif sub.tag == "ACCOUNTINGALLOCATIONS.LIST":
            if (alloc := ledger_line(company, sub)) is not None:
                line.allocations.append(alloc)
        else:
            extra.append(raw_node(sub))
    line.extra = tuple(extra)
    if not line.batches:
        # Tally always keeps one batch allocation (godown + Primary Batch), reference §3.
        line.batches.append(Batch(_godown(company, ""), amount=line.amount, actual_qty=line.actual_qty,
                                  billed_qty=line.billed_qty))
    return line


def _batch(company: Company, item: Master, places: int | None, node: etree._Element) -> Batch:
    first, others = scan(node, _BATCH_TAGS)

    def field(tag: str) -> str:
        return value(first.get(tag))

    raw_amount = field("AMOUNT")
    return Batch(
        _godown(company, field("GODOWNNAME")), field("BATCHNAME") or DEFAULT_BATCH,
        field("ORDERNO"), field("TRACKINGNUMBER"), field("ORDERDUEDATE"),
        _amount(raw_amount) if raw_amount.strip() else None,
        _quantity(item, places, field("ACTUALQTY")), _quantity(item, places, field("BILLEDQTY")),
        tuple(raw_node(c) for c in others),
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
    if not raw.strip():
        return None
    try:
        qty, unit = parse_quantity(raw)
    except ValueError as exc:
        raise Rejected(str(exc), structural=True) from exc
    _check_unit(item, unit)
    return qty if places is None else round_qty(qty, places)


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
