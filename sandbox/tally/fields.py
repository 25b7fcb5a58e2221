"""Collection fields per object type: the typed value a formula sees and the tag an export writes.

Method names are matched as TDL does: case-insensitive, spaces ignored ("Voucher Type Name").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from .company import Company
from .cost import Walk
from .model import UNIT, ZERO, Batch, InventoryLine, LedgerLine, Master
from .prices import FULL_PRICE, STANDARD_COST, STANDARD_PRICE, full_list_e, standard_list_e
from .raw import raw_to_e
from .stock import StockPosition, ledger_balances, stock_positions
from .values import (
    fmt_amount,
    fmt_date,
    fmt_logical,
    fmt_number,
    fmt_quantity,
    fmt_rate,
    parse_ymd,
)
from .xmlio import NOT_APPLICABLE, PRIMARY, E, escape, interleave, leaves_frames, typed, typed_writer, written
from .xmlio import escape_recurring as esc


class Qty(NamedTuple):
    value: Decimal
    unit: str
    places: int


class Rate(NamedTuple):
    value: Decimal
    unit: str


@dataclass(slots=True)
class Context:
    """Per-export state: the company, the period (SVFROMDATE/SVTODATE), lazily computed balances."""

    company: Company
    start: date | None = None
    end: date | None = None
    walk: Walk = field(default_factory=Walk)
    # The depth an object's fields are written at: a collection's objects are ENVELOPE > BODY > DATA >
    # COLLECTION > object, and their lists are written as text for it (xmlio.written).
    depth: int = 5
    _stock: dict[int, StockPosition] | None = None
    _ledgers: dict[int, Decimal] | None = None

    def stock(self, item: Master) -> StockPosition:
        if self._stock is None:
            self.walk.over(self.company, None, self.end)  # balances walk every voucher up to SVTODATE
            self._stock = stock_positions(self.company, self.end)
        return self._stock[item.master_id]

    def ledger_balance(self, ledger: Master) -> Decimal:
        if self._ledgers is None:
            self.walk.over(self.company, None, self.end)
            self._ledgers = ledger_balances(self.company, self.end)
        return self._ledgers[ledger.master_id]

    def places(self, unit: str) -> int:
        found = self.company.master(UNIT, unit)
        return found.decimal_places if found else 0


Reader = Callable[[Any, Context], Any]


@dataclass(frozen=True, slots=True)
class Field:
    tag: str
    type: str  # Date | String | Number | Amount | Logical | Quantity | Rate | List | Attr
    read: Reader


def normalise(method: str) -> str:
    return "".join(method.split()).lower()


def render(spec: Field, value: Any, leaf: Callable[[str, str, str], E | str] = typed) -> list[E | str]:
    """The children one fetched field adds (lists expand to several `.LIST` elements); a value is one
    typed leaf, a node or (``leaf=typed_line``) written at once."""
    if spec.type == "Attr":
        return []
    if spec.type == "List":
        return list(value)
    return [leaf(spec.tag, format_value(spec.type, value), spec.type)]


_FORMATS: dict[str, Callable[[Any], str]] = {
    "Date": fmt_date, "Number": fmt_number, "Amount": fmt_amount, "Logical": fmt_logical,
    "Quantity": lambda q: fmt_quantity(q.value, q.unit, q.places), "Rate": lambda r: fmt_rate(r.value, r.unit),
}


def format_value(type_: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    return _FORMATS.get(type_, str)(value)


def value_writer(tag: str, type_: str) -> Callable[[Any], str]:
    """`typed_line(tag, format_value(type_, value), type_)` for one tag and type, in one call: an export writes
    each fetched value of each object."""
    write, form = typed_writer(tag, type_), _FORMATS.get(type_, str)
    empty = write("")

    def value_line(value: Any) -> str:
        return empty if value is None or value == "" else write(form(value))

    return value_line


def generic(fields: dict[str, str], method: str) -> tuple[Field, Any] | None:
    """A tag kept verbatim from the import, typed by its look (ISxxx logicals, xxxDATE dates)."""
    tag = next((t for t in fields if normalise(t) == method), None)
    if tag is None:
        return None
    raw = fields[tag]
    type_, value = "String", raw
    if tag.startswith("IS") and raw.strip().lower() in ("yes", "no"):
        type_, value = "Logical", raw.strip().lower() == "yes"
    elif tag.endswith("DATE") and parse_ymd(raw):
        type_, value = "Date", parse_ymd(raw)
    return Field(tag, type_, lambda o, c: value), value


# ---- lines --------------------------------------------------------------------------------

_LEDGER_LEAVES = (("LEDGERNAME", "String"), ("ISDEEMEDPOSITIVE", "Logical"), ("ISPARTYLEDGER", "Logical"),
                  ("AMOUNT", "Amount"))
_ITEM_LEAVES = (("STOCKITEMNAME", "String"), ("ISDEEMEDPOSITIVE", "Logical"), ("RATE", "Rate"), ("AMOUNT", "Amount"),
                ("ACTUALQTY", "Quantity"), ("BILLEDQTY", "Quantity"))
_BATCH_LINKS = (("GODOWNNAME", "String"), ("BATCHNAME", "String"), ("ORDERNO", "String"), ("TRACKINGNUMBER", "String"))
_BATCH_VALUES = (("AMOUNT", "Amount"), ("ACTUALQTY", "Quantity"), ("BILLEDQTY", "Quantity"))
# a batch with an order due date, and one without
_BATCH_LEAVES = (_BATCH_LINKS + _BATCH_VALUES, (*_BATCH_LINKS, ("ORDERDUEDATE", "Date"), *_BATCH_VALUES))
_YES_NO = ("No", "Yes")
# Texts written without `escape`: an amount, a number or a logical has none of & < > or Tally's sentinel. Names,
# units and quantities recur from line to line: `esc` escapes each once (an order number does not recur).


def ledger_line_text(line: LedgerLine, tag: str, depth: int) -> str:
    """A ledger entry or an item's accounting allocation, written at `depth` (xmlio.written)."""
    (f0, f1, f2, f3, f4), inner, end = leaves_frames(tag, _LEDGER_LEAVES, depth)
    text = (f"{f0}{esc(line.ledger.name)}{f1}{_YES_NO[line.deemed_positive]}{f2}{_YES_NO[line.is_party]}{f3}"
            f"{fmt_amount(line.amount)}{f4}")
    if line.extra:
        text += "".join([inner + written(raw_to_e(r), depth + 1) for r in line.extra])
    return text + end


def inventory_line_text(line: InventoryLine, tag: str, ctx: Context, depth: int) -> str:
    """An item line with its batch and accounting allocations, written at `depth` (xmlio.written)."""
    unit, places = line.item.base_unit, ctx.places(line.item.base_unit)
    (f0, f1, f2, f3, f4, f5, f6), inner, end = leaves_frames(tag, _ITEM_LEAVES, depth)
    rate = "" if line.rate is None else esc(fmt_rate(line.rate, unit))
    parts = [
        f"{f0}{esc(line.item.name)}{f1}{_YES_NO[line.deemed_positive]}{f2}{rate}{f3}{fmt_amount(line.amount)}"
        f"{f4}{esc(fmt_quantity(line.actual_qty, unit, places))}{f5}"
        f"{esc(fmt_quantity(line.billed_qty, unit, places))}{f6}"
    ]
    if line.extra:
        parts += [written(raw_to_e(r), depth + 1) for r in line.extra]
    parts += [_batch_text(b, unit, places, depth + 1) for b in line.batches]
    parts += [ledger_line_text(a, "ACCOUNTINGALLOCATIONS.LIST", depth + 1) for a in line.allocations]
    return inner.join(parts) + end


def _batch_text(batch: Batch, unit: str, places: int, depth: int) -> str:
    actual, billed = batch.actual_qty, batch.billed_qty
    amount = "" if batch.amount is None else fmt_amount(batch.amount)
    actual_text = "" if actual is None else esc(fmt_quantity(actual, unit, places))
    billed_text = "" if billed is None else esc(fmt_quantity(billed, unit, places))
    # Empty links come back as Tally's "not applicable" sentinel (reference §3).
    godown, name = esc(batch.godown.name), esc(batch.batch_name)
    order_no, tracking = escape(batch.order_no or NOT_APPLICABLE), escape(batch.tracking_number or NOT_APPLICABLE)
    frames, inner, end = leaves_frames("BATCHALLOCATIONS.LIST", _BATCH_LEAVES[bool(batch.order_due_date)], depth)
    if batch.order_due_date:
        text = interleave(frames, (godown, name, order_no, tracking, escape(batch.order_due_date), amount,
                                   actual_text, billed_text))
    else:
        f0, f1, f2, f3, f4, f5, f6, f7 = frames
        text = f"{f0}{godown}{f1}{name}{f2}{order_no}{f3}{tracking}{f4}{amount}{f5}{actual_text}{f6}{billed_text}{f7}"
    if batch.extra:
        text += "".join([inner + written(raw_to_e(r), depth + 1) for r in batch.extra])
    return text + end


def _ledger_lines(tag: str) -> Reader:
    return lambda v, c: [ledger_line_text(ln, tag, c.depth) for ln in v.ledger_lines]


def _inventory_lines(tag: str) -> Reader:
    return lambda v, c: [inventory_line_text(ln, tag, c, c.depth) for ln in v.inventory_lines]


def language_names(m: Master, c: Context) -> list[E]:
    names = E("NAME.LIST", attrs={"TYPE": "String"}, kids=[E("NAME", n) for n in (m.name, *m.aliases)])
    return [E("LANGUAGENAME.LIST", kids=[names, typed("LANGUAGEID", fmt_number(1033), "Number")])]


# ---- registries ---------------------------------------------------------------------------

VOUCHER_FIELDS: dict[str, Field] = {
    "date": Field("DATE", "Date", lambda v, c: v.date),
    "effectivedate": Field("EFFECTIVEDATE", "Date", lambda v, c: parse_ymd(v.fields.get("EFFECTIVEDATE", ""))
                           or v.date),
    "vouchertypename": Field("VOUCHERTYPENAME", "String", lambda v, c: v.vtype.name),
    "vouchernumber": Field("VOUCHERNUMBER", "String", lambda v, c: v.number),
    "reference": Field("REFERENCE", "String", lambda v, c: v.reference),
    "partyledgername": Field("PARTYLEDGERNAME", "String", lambda v, c: v.party.name if v.party else ""),
    "narration": Field("NARRATION", "String", lambda v, c: v.narration),
    "persistedview": Field("PERSISTEDVIEW", "String", lambda v, c: v.view),
    "guid": Field("GUID", "String", lambda v, c: v.guid),
    "masterid": Field("MASTERID", "Number", lambda v, c: v.master_id),
    "alterid": Field("ALTERID", "Number", lambda v, c: v.alter_id),
    "iscancelled": Field("ISCANCELLED", "Logical", lambda v, c: v.cancelled),
    "isoptional": Field("ISOPTIONAL", "Logical", lambda v, c: v.optional),
    "allledgerentries": Field("ALLLEDGERENTRIES.LIST", "List", _ledger_lines("ALLLEDGERENTRIES.LIST")),
    "ledgerentries": Field("LEDGERENTRIES.LIST", "List", _ledger_lines("LEDGERENTRIES.LIST")),
    "allinventoryentries": Field("ALLINVENTORYENTRIES.LIST", "List", _inventory_lines("ALLINVENTORYENTRIES.LIST")),
    "inventoryentries": Field("INVENTORYENTRIES.LIST", "List", _inventory_lines("INVENTORYENTRIES.LIST")),
}

MASTER_FIELDS: dict[str, Field] = {
    "name": Field("NAME", "Attr", lambda m, c: m.name),
    "parent": Field("PARENT", "String", lambda m, c: m.parent or PRIMARY),
    "guid": Field("GUID", "String", lambda m, c: m.guid),
    "masterid": Field("MASTERID", "Number", lambda m, c: m.master_id),
    "alterid": Field("ALTERID", "Number", lambda m, c: m.alter_id),
    "languagename": Field("LANGUAGENAME.LIST", "List", language_names),
}

LEDGER_FIELDS = MASTER_FIELDS | {
    "openingbalance": Field("OPENINGBALANCE", "Amount", lambda m, c: m.opening_balance),
    "closingbalance": Field("CLOSINGBALANCE", "Amount", lambda m, c: c.ledger_balance(m)),
}

STOCKITEM_FIELDS = MASTER_FIELDS | {
    "baseunits": Field("BASEUNITS", "String", lambda m, c: m.base_unit),
    "category": Field("CATEGORY", "String", lambda m, c: m.fields.get("CATEGORY") or NOT_APPLICABLE),
    "openingbalance": Field("OPENINGBALANCE", "Quantity",
                            lambda m, c: Qty(m.opening_qty, m.base_unit, c.places(m.base_unit))),
    "openingrate": Field("OPENINGRATE", "Rate", lambda m, c: Rate(m.opening_rate or ZERO, m.base_unit)),
    "openingvalue": Field("OPENINGVALUE", "Amount", lambda m, c: -(m.opening_qty * (m.opening_rate or ZERO))),
    "closingbalance": Field("CLOSINGBALANCE", "Quantity",
                            lambda m, c: Qty(c.stock(m).qty, m.base_unit, c.places(m.base_unit))),
    "closingrate": Field("CLOSINGRATE", "Rate", lambda m, c: Rate(c.stock(m).rate(), m.base_unit)),
    "closingvalue": Field("CLOSINGVALUE", "Amount", lambda m, c: c.stock(m).value()),
    "standardpricelist": Field(STANDARD_PRICE, "List",
                               lambda m, c: standard_list_e(STANDARD_PRICE, m.prices.get(STANDARD_PRICE, []),
                                                            m.base_unit)),
    "standardcostlist": Field(STANDARD_COST, "List",
                              lambda m, c: standard_list_e(STANDARD_COST, m.prices.get(STANDARD_COST, []),
                                                           m.base_unit)),
    "fullpricelist": Field(FULL_PRICE, "List",
                           lambda m, c: full_list_e(m.prices.get(FULL_PRICE, []), m.base_unit, c.places(m.base_unit))),
}

UNIT_FIELDS = MASTER_FIELDS | {
    "decimalplaces": Field("DECIMALPLACES", "Number", lambda m, c: m.decimal_places),
    "issimpleunit": Field("ISSIMPLEUNIT", "Logical", lambda m, c: m.is_simple),
}

COMPANY_FIELDS: dict[str, Field] = {
    "name": Field("NAME", "Attr", lambda co, c: co.name),
    "guid": Field("GUID", "String", lambda co, c: co.guid),
    "booksfrom": Field("BOOKSFROM", "Date", lambda co, c: co.books_from),
    "startingfrom": Field("STARTINGFROM", "Date", lambda co, c: co.books_from),
    "altmstid": Field("ALTMSTID", "Number", lambda co, c: co.alt_mst_id),
    "altvchid": Field("ALTVCHID", "Number", lambda co, c: co.alt_vch_id),
    "lastvoucherdate": Field("LASTVOUCHERDATE", "Date", lambda co, c: co.last_voucher_date()),
}
