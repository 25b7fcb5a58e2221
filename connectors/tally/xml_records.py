"""Turn collection export replies (`ENVELOPE/BODY/DATA/COLLECTION/<OBJ NAME=…>`) into records.

Reference §6: objects carry typed, UPPERCASE child tags; §7/§9.14: a list may hold one
element or many, empty placeholder `*.LIST` elements occur, and `&#4;` blanks are stripped
by the sanitiser so they read as empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import TypeVar

from pydantic import ValidationError

from connectors.tally.errors import TallyProtocolError
from connectors.tally.models import (
    BillAllocation,
    CompanyRecord,
    InventoryEntry,
    LedgerEntry,
    LedgerRecord,
    StockItemRecord,
    VoucherAmounts,
    VoucherId,
    VoucherRecord,
)
from connectors.tally.settings import BATCH_PRIMARY
from connectors.tally.xml_parse import Element, element_text, stream_objects
from connectors.tally.xml_values import (
    parse_bool,
    parse_date,
    parse_decimal,
    parse_int,
    parse_quantity,
    parse_rate,
)

T = TypeVar("T")


def text(el: Element, path: str) -> str | None:
    """Text of the child at `path`; absent or empty (incl. a stripped `&#4;` blank) is None."""
    value = element_text(el.find(path))
    return value if value else None


def _records(reply: str | Iterable[str], tag: str, build: Callable[[Element], T]) -> list[T]:
    records = []
    for obj in stream_objects(reply, tag):
        try:
            records.append(build(obj))
        except (ValueError, ValidationError) as exc:
            guid = text(obj, "GUID") or obj.get("NAME") or "?"
            raise TallyProtocolError(f"unreadable {tag} {guid!r}: {exc}") from None
    return records


def _names(obj: Element) -> list[str]:
    names = [n for n in (element_text(e) for e in obj.iterfind("LANGUAGENAME.LIST/NAME.LIST/NAME")) if n]
    own = obj.get("NAME") or text(obj, "NAME") or (names[0] if names else None)
    if own is None:
        raise ValueError("object has no NAME")
    return [own, *[n for n in names if n != own]]


def _ids(obj: Element) -> dict[str, object]:
    return {
        "guid": text(obj, "GUID"),
        "master_id": parse_int(text(obj, "MASTERID")),
        "alter_id": parse_int(text(obj, "ALTERID")),
    }


def ledger_record(obj: Element) -> LedgerRecord:
    """One LEDGER object."""
    name, *aliases = _names(obj)
    return LedgerRecord(
        name=name, aliases=aliases, parent=text(obj, "PARENT"),
        opening_balance=parse_decimal(text(obj, "OPENINGBALANCE")),
        closing_balance=parse_decimal(text(obj, "CLOSINGBALANCE")), **_ids(obj),
    )


def stock_item_record(obj: Element) -> StockItemRecord:
    """One STOCKITEM object; closing quantity keeps its sign (stock can run negative)."""
    name, *aliases = _names(obj)
    quantity = parse_quantity(text(obj, "CLOSINGBALANCE"))
    return StockItemRecord(
        name=name, aliases=aliases, parent=text(obj, "PARENT"),
        base_unit=text(obj, "BASEUNITS") or (quantity[1] or None if quantity else None),
        closing_qty=quantity[0] if quantity else None,
        closing_value=parse_decimal(text(obj, "CLOSINGVALUE")), **_ids(obj),
    )


def company_record(obj: Element) -> CompanyRecord:
    """One COMPANY object."""
    return CompanyRecord(
        name=_names(obj)[0], guid=text(obj, "GUID"),
        books_from=parse_date(text(obj, "BOOKSFROM")),
        last_voucher_date=parse_date(text(obj, "LASTVOUCHERDATE")),
        alt_mst_id=parse_int(text(obj, "ALTMSTID")), alt_vch_id=parse_int(text(obj, "ALTVCHID")),
    )


def ledger_entry(el: Element) -> LedgerEntry:
    """A ledger line; the amount's sign is authoritative, ISDEEMEDPOSITIVE is derived from it."""
    bills = [
        BillAllocation(name=text(b, "NAME") or "", bill_type=text(b, "BILLTYPE") or "New Ref",
                       amount=parse_decimal(text(b, "AMOUNT")) or Decimal(0),
                       credit_period=text(b, "BILLCREDITPERIOD"))
        for b in el.iterfind("BILLALLOCATIONS.LIST") if text(b, "NAME")
    ]
    return LedgerEntry(
        ledger_name=text(el, "LEDGERNAME") or "", amount=parse_decimal(text(el, "AMOUNT")) or Decimal(0),
        is_party=parse_bool(text(el, "ISPARTYLEDGER")), bill_allocations=bills,
    )


def _first(el: Element, tag: str, required: str) -> Element | None:
    return next((c for c in el.iterfind(tag) if text(c, required) is not None), None)


def inventory_entry(el: Element) -> InventoryEntry:
    """An inventory line; only the first batch and accounting allocation are kept."""
    quantity = parse_quantity(text(el, "BILLEDQTY") or text(el, "ACTUALQTY")) or (Decimal(0), "")
    rate = parse_rate(text(el, "RATE")) or (Decimal(0), quantity[1])
    batch = _first(el, "BATCHALLOCATIONS.LIST", "BATCHNAME")
    alloc = _first(el, "ACCOUNTINGALLOCATIONS.LIST", "LEDGERNAME")
    lines = [element_text(d) or "" for d in el.iterfind("BASICUSERDESCRIPTION.LIST/BASICUSERDESCRIPTION")]
    return InventoryEntry(
        stock_item=text(el, "STOCKITEMNAME") or "", quantity=abs(quantity[0]),
        unit=quantity[1] or rate[1], rate=abs(rate[0]),
        amount=parse_decimal(text(el, "AMOUNT")) or Decimal(0),
        godown=None if batch is None else text(batch, "GODOWNNAME"),
        batch=(None if batch is None else text(batch, "BATCHNAME")) or BATCH_PRIMARY,
        order_no=None if batch is None else text(batch, "ORDERNO"),
        order_due_date=None if batch is None else _lenient_date(text(batch, "ORDERDUEDATE")),
        tracking_number=None if batch is None else text(batch, "TRACKINGNUMBER"),
        accounting_ledger=None if alloc is None else text(alloc, "LEDGERNAME"),
        description="\n".join(lines) if lines else None,
    )


def _lenient_date(value: str | None) -> date | None:
    # Reference §3.1: ORDERDUEDATE's export format is unverified; unknown shapes read as absent.
    try:
        return parse_date(value)
    except ValueError:
        return None


def voucher_record(obj: Element) -> VoucherRecord:
    """One VOUCHER object; ALLLEDGERENTRIES.LIST is preferred, LEDGERENTRIES.LIST the fallback."""
    ledger_els = [e for e in obj.iterfind("ALLLEDGERENTRIES.LIST") if text(e, "LEDGERNAME")]
    if not ledger_els:
        ledger_els = [e for e in obj.iterfind("LEDGERENTRIES.LIST") if text(e, "LEDGERNAME")]
    items = [e for e in obj.iterfind("ALLINVENTORYENTRIES.LIST") if text(e, "STOCKITEMNAME")]
    voucher_date = parse_date(text(obj, "DATE"))
    if voucher_date is None:
        raise ValueError("voucher has no DATE")
    return VoucherRecord(
        remote_id=obj.get("REMOTEID") or None,
        voucher_type=text(obj, "VOUCHERTYPENAME") or obj.get("VCHTYPE") or "",
        date=voucher_date, voucher_number=text(obj, "VOUCHERNUMBER"), reference=text(obj, "REFERENCE"),
        party_ledger=text(obj, "PARTYLEDGERNAME"), narration=text(obj, "NARRATION"),
        is_cancelled=parse_bool(text(obj, "ISCANCELLED")),
        ledger_entries=[ledger_entry(e) for e in ledger_els],
        inventory_entries=[inventory_entry(e) for e in items], **_ids(obj),
    )


_VOUCHER_ID_TAGS = frozenset({"DATE", "VOUCHERTYPENAME", "VOUCHERNUMBER", "NARRATION", "MASTERID", "ALTERID",
                              "ISCANCELLED"})
_VOUCHER_AMOUNT_TAGS = _VOUCHER_ID_TAGS | {"PARTYLEDGERNAME"}
_LEDGER_LINE_TAGS = frozenset({"LEDGERNAME", "AMOUNT", "ISPARTYLEDGER"})
_STOCK_LINE_TAGS = frozenset({"STOCKITEMNAME", "AMOUNT"})


def _own_text(el: Element) -> str | None:
    return (el.text if not len(el) else element_text(el)) or None


def _children(el: Element, tags: frozenset[str]) -> dict[str, str | None]:
    """Text of the first child of each tag in `tags`, in one pass (the first wins, as with find()); the
    pass stops once each tag is found, as nothing after could change what was read."""
    found: dict[str, str | None] = {}
    for child in el:
        tag = child.tag
        if tag in tags and tag not in found:
            found[tag] = (child.text if not len(child) else element_text(child)) or None
            if len(found) == len(tags):
                break
    return found


class _Values:
    """Amounts and dates as `parse_decimal` and `_day` read them, each distinct text read once per reply (an
    export repeats its prices, charges and dates; Decimal and date values are immutable, so sharing is safe)."""

    def __init__(self) -> None:
        self._amounts: dict[str, Decimal] = {}
        self._days: dict[str, date] = {}

    def amount(self, value: str | None) -> Decimal:
        """`parse_decimal(value) or Decimal(0)`."""
        if value is None:
            return _ZERO
        amount = self._amounts.get(value)
        if amount is None:
            amount = self._amounts[value] = parse_decimal(value) or _ZERO
        return amount

    def day(self, value: str | None) -> date | None:
        """`_day(value)`."""
        day = self._days.get(value) if value is not None else None
        if day is None:
            day = _day(value)
            if day is not None and value is not None:
                self._days[value] = day
        return day


_ZERO = Decimal(0)


def _identity(obj: Element, found: dict[str, str | None], values: _Values) -> dict[str, object]:
    voucher_date = values.day(found.get("DATE"))
    master_id, alter_id = parse_int(found.get("MASTERID")), parse_int(found.get("ALTERID"))
    if voucher_date is None or master_id is None or alter_id is None:
        raise ValueError("voucher lacks DATE, MASTERID or ALTERID")
    return {"master_id": master_id, "alter_id": alter_id, "date": voucher_date,
            "voucher_type": found.get("VOUCHERTYPENAME") or obj.get("VCHTYPE") or "",
            "voucher_number": found.get("VOUCHERNUMBER"), "narration": found.get("NARRATION"),
            "is_cancelled": parse_bool(found.get("ISCANCELLED"))}


def voucher_id(obj: Element, values: _Values | None = None) -> VoucherId:
    """The identity of one VOUCHER: one pass over its children, everything else skipped unread."""
    return VoucherId(**_identity(obj, _children(obj, _VOUCHER_ID_TAGS), values or _Values()))


def voucher_amounts(obj: Element, values: _Values | None = None) -> VoucherAmounts:
    """Identity, party and amounts of one VOUCHER in one pass: of each line only its ledger (or stock
    item), amount and party flag are read; bills, batches and the rest are skipped unread.
    As `voucher_record`: ALLLEDGERENTRIES.LIST first, LEDGERENTRIES.LIST the fallback."""
    values = values or _Values()
    found: dict[str, str | None] = {}
    all_lines: list[tuple[str, Decimal, bool]] = []
    lines: list[tuple[str, Decimal, bool]] = []
    stock = Decimal(0)
    for child in obj:
        tag = child.tag
        if tag == "ALLLEDGERENTRIES.LIST" or tag == "LEDGERENTRIES.LIST":
            line = _children(child, _LEDGER_LINE_TAGS)
            name, party = line.get("LEDGERNAME"), line.get("ISPARTYLEDGER")
            if name:
                (all_lines if tag == "ALLLEDGERENTRIES.LIST" else lines).append(
                    (name, values.amount(line.get("AMOUNT")), party == "Yes" or parse_bool(party)))
        elif tag == "ALLINVENTORYENTRIES.LIST":
            item = _children(child, _STOCK_LINE_TAGS)
            if item.get("STOCKITEMNAME"):
                stock += values.amount(item.get("AMOUNT"))
        elif tag in _VOUCHER_AMOUNT_TAGS and tag not in found:
            found[tag] = (child.text if not len(child) else element_text(child)) or None
    return VoucherAmounts(**_identity(obj, found, values), party_ledger=found.get("PARTYLEDGERNAME"),
                          ledger_lines=tuple(all_lines or lines), inventory_amount=stock)


def _day(value: str | None) -> date | None:
    # Raw exports write yyyymmdd (reference §7); strptime, for the other forms, costs ten times more.
    if value is not None and len(value) == 8 and value.isdigit():
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    return parse_date(value)


def parse_ledgers(reply: str) -> list[LedgerRecord]:
    """Ledgers from a ledger collection reply."""
    return _records(reply, "LEDGER", ledger_record)


def parse_stock_items(reply: str) -> list[StockItemRecord]:
    """Stock items from a stock item collection reply."""
    return _records(reply, "STOCKITEM", stock_item_record)


def parse_vouchers(reply: str) -> list[VoucherRecord]:
    """Vouchers from a voucher collection reply."""
    return _records(reply, "VOUCHER", voucher_record)


def parse_voucher_ids(reply: str | Iterable[str]) -> list[VoucherId]:
    """Voucher identities from a voucher collection reply (a cut or a full FETCH list), whole or in pieces."""
    values = _Values()
    return _records(reply, "VOUCHER", lambda obj: voucher_id(obj, values))


def parse_voucher_amounts(reply: str | Iterable[str]) -> list[VoucherAmounts]:
    """Voucher identities and amounts from a voucher collection reply, whole or in pieces."""
    values = _Values()
    return _records(reply, "VOUCHER", lambda obj: voucher_amounts(obj, values))


def parse_companies(reply: str) -> list[CompanyRecord]:
    """Loaded companies from a company collection reply."""
    return _records(reply, "COMPANY", company_record)
