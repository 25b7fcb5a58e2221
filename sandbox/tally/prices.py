"""Stock item rates: the date-wise standard selling price and cost lists and the price-level list.

Reference §4 "Standard rates": ``STANDARDPRICELIST.LIST`` (selling price) and ``STANDARDCOSTLIST.LIST``
(cost) each hold ``DATE`` + ``RATE`` ("1600.00/Nos"); the rate in force on a day is the entry with the
latest DATE not after it. Price levels (F11 "Use multiple price levels") live in ``FULLPRICELIST.LIST``:
``DATE``, ``PRICELEVEL`` and one ``PRICELEVELLIST.LIST`` per quantity slab (``STARTINGFROM``,
``ENDINGAT``, ``RATE``, ``DISCOUNT`` percent). The reference marks FULLPRICELIST [U]; the slab shape
is the one independent Tally readers parse (found with the code search: a C# Tally model with
``FULLPRICELIST_LIST`` {DATE, PRICELEVEL, PRICELEVELLIST_LIST {STARTINGFROM, ENDINGAT, RATE,
DISCOUNT}}, an ERPNext migrator's tests and a JavaScript POS that reads the newest rate per level).

Chosen where nothing says (the strict side, so a client that passes here passes in Tally):
- DATE must be yyyymmdd, as for vouchers; a RATE's unit must be the item's base unit (a bare
  number is read in the base unit); a negative rate or discount, or a discount over 100, is refused;
  two entries of one list on the same DATE (same level for price levels) are refused (``[sandbox]``).
- A PRICELEVEL must be one of the company's price levels (``Company.price_levels``), spelled
  exactly: "[sandbox] Price Level 'X' does not exist".
- On Alter, a list that is sent replaces that whole list (entries without DATE and RATE, the empty
  placeholders Tally writes on export, count as nothing); a list that is not sent is kept [U].
- Exports write entries in date order, a slab's empty bounds as empty tags [U].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from lxml import etree

from .replies import Rejected
from .values import fmt_amount, fmt_date, fmt_quantity, fmt_rate, parse_quantity, parse_rate, parse_ymd
from .xmlio import E, child_value, kids, typed

STANDARD_PRICE = "STANDARDPRICELIST.LIST"
STANDARD_COST = "STANDARDCOSTLIST.LIST"
FULL_PRICE = "FULLPRICELIST.LIST"
PRICE_TAGS = frozenset({STANDARD_PRICE, STANDARD_COST, FULL_PRICE})
_SLAB = "PRICELEVELLIST.LIST"


@dataclass(slots=True, frozen=True)
class Rate:
    """One dated standard rate."""

    day: date
    rate: Decimal


@dataclass(slots=True, frozen=True)
class Slab:
    """One quantity slab of a price level: from/to quantities (None = open), rate, discount %."""

    rate: Decimal
    start: Decimal | None = None
    end: Decimal | None = None
    discount: Decimal | None = None


@dataclass(slots=True, frozen=True)
class LevelRate:
    """One dated price-level entry with its slabs."""

    day: date
    level: str
    slabs: tuple[Slab, ...] = field(default_factory=tuple)


def read_price_lists(nodes: dict[str, list[etree._Element]], unit: str, levels: list[str]) -> dict[str, list[Any]]:
    """The lists carried by one STOCKITEM element, validated against its base unit and the price levels."""
    out: dict[str, list[Any]] = {}
    for tag, elements in nodes.items():
        entries = [e for e in elements if not _placeholder(e)]
        if tag == FULL_PRICE:
            out[tag] = sorted((_level_entry(e, unit, levels) for e in entries), key=lambda r: (r.day, r.level))
            _no_repeats(tag, [(r.day, r.level) for r in out[tag]])
        else:
            out[tag] = sorted((_standard_entry(tag, e, unit) for e in entries), key=lambda r: r.day)
            _no_repeats(tag, [(r.day,) for r in out[tag]])
    return out


def from_spec(entries: Any) -> list[Rate]:
    """Standard rates from the plain master spec: ``[{"date": "2026-04-01", "rate": "1600"}]``."""
    rates = sorted((Rate(date.fromisoformat(str(e["date"])), Decimal(str(e["rate"]))) for e in entries or ()),
                   key=lambda r: r.day)
    _no_repeats(STANDARD_PRICE, [(r.day,) for r in rates])
    return rates


def levels_from_spec(entries: Any, levels: list[str]) -> list[LevelRate]:
    """Price levels from the spec: ``[{"date": ..., "level": ..., "rate": ..., "discount"?: ...}]`` (one slab)."""
    out = []
    for e in entries or ():
        if e["level"] not in levels:
            raise ValueError(f"price level {e['level']!r} is not one of the company's {levels}")
        discount = None if e.get("discount") is None else Decimal(str(e["discount"]))
        out.append(LevelRate(date.fromisoformat(str(e["date"])), e["level"],
                             (Slab(Decimal(str(e["rate"])), discount=discount),)))
    return sorted(out, key=lambda r: (r.day, r.level))


def _placeholder(el: etree._Element) -> bool:
    return not any(child_value(el, t).strip() for t in ("DATE", "RATE", "PRICELEVEL")) and not any(
        c.tag == _SLAB for c in kids(el))


def _day(tag: str, el: etree._Element) -> date:
    raw = child_value(el, "DATE")
    day = parse_ymd(raw)
    if day is None:
        raise Rejected(f"[sandbox] {tag} needs DATE as yyyymmdd, got '{raw}'", structural=True)
    return day


def _in_unit(tag: str, raw: str, unit: str, parse: Callable[[str], tuple[Decimal, str]]) -> Decimal:
    """A rate or quantity whose unit (if written) must be the item's base unit."""
    try:
        value, written = parse(raw)
    except ValueError as exc:
        raise Rejected(f"[sandbox] {tag}: {exc}", structural=True) from None
    if written and written != unit:
        raise Rejected(f"[sandbox] Unit '{written}' is not the base unit '{unit}' of the item")
    return value


def _rate(tag: str, raw: str, unit: str) -> Decimal:
    value = _in_unit(tag, raw, unit, parse_rate)
    if value < 0:
        raise Rejected(f"[sandbox] {tag}: a rate cannot be negative ('{raw}')")
    return value


def _standard_entry(tag: str, el: etree._Element, unit: str) -> Rate:
    return Rate(_day(tag, el), _rate(tag, child_value(el, "RATE"), unit))


def _level_entry(el: etree._Element, unit: str, levels: list[str]) -> LevelRate:
    level = child_value(el, "PRICELEVEL")
    if level not in levels:
        raise Rejected(f"[sandbox] Price Level '{level}' does not exist")
    slabs = tuple(_slab(s, unit) for s in kids(el) if s.tag == _SLAB and child_value(s, "RATE").strip())
    if not slabs:
        raise Rejected(f"[sandbox] {FULL_PRICE} for '{level}' has no RATE", structural=True)
    return LevelRate(_day(FULL_PRICE, el), level, slabs)


def _slab(el: etree._Element, unit: str) -> Slab:
    discount = _number(child_value(el, "DISCOUNT"))
    if discount is not None and not 0 <= discount <= 100:
        raise Rejected(f"[sandbox] {_SLAB}: DISCOUNT {discount} is not a percentage")
    return Slab(_rate(_SLAB, child_value(el, "RATE"), unit), _bound(el, "STARTINGFROM", unit),
                _bound(el, "ENDINGAT", unit), discount)


def _bound(el: etree._Element, tag: str, unit: str) -> Decimal | None:
    raw = child_value(el, tag)
    return _in_unit(tag, raw, unit, parse_quantity) if raw.strip() else None


def _number(raw: str) -> Decimal | None:
    try:
        return Decimal(raw.strip()) if raw.strip() else None
    except ArithmeticError:
        raise Rejected(f"[sandbox] '{raw}' is not a number", structural=True) from None


def _no_repeats(tag: str, keys: list[tuple[Any, ...]]) -> None:
    seen: set[tuple[Any, ...]] = set()
    for key in keys:
        if key in seen:
            raise Rejected(f"[sandbox] {tag}: two entries for {', '.join(map(str, key))}")
        seen.add(key)


# ---- export --------------------------------------------------------------------------------

def standard_list_e(tag: str, rates: list[Rate], unit: str) -> list[E]:
    return [E(tag, kids=[typed("DATE", fmt_date(r.day), "Date"), typed("RATE", fmt_rate(r.rate, unit), "Rate")])
            for r in rates]


def full_list_e(entries: list[LevelRate], unit: str, places: int) -> list[E]:
    return [E(FULL_PRICE, kids=[typed("DATE", fmt_date(e.day), "Date"), typed("PRICELEVEL", e.level, "String"),
                                *(_slab_e(s, unit, places) for s in e.slabs)])
            for e in entries]


def _slab_e(slab: Slab, unit: str, places: int) -> E:
    def qty(value: Decimal | None) -> str:
        return "" if value is None else fmt_quantity(value, unit, places)

    discount = "" if slab.discount is None else f" {fmt_amount(slab.discount)}"
    return E(_SLAB, kids=[typed("STARTINGFROM", qty(slab.start), "Quantity"),
                          typed("ENDINGAT", qty(slab.end), "Quantity"),
                          typed("RATE", fmt_rate(slab.rate, unit), "Rate"),
                          typed("DISCOUNT", discount, "Number")])


def prices_json(prices: dict[str, list[Any]]) -> dict[str, list[dict[str, Any]]]:
    """The rate lists for the control plane: ``{tag: [{"date", "rate"} | {"date", "level", "slabs"}]}``."""
    def entry(e: Any) -> dict[str, Any]:
        if isinstance(e, Rate):
            return {"date": e.day.isoformat(), "rate": str(e.rate)}
        return {"date": e.day.isoformat(), "level": e.level,
                "slabs": [{k: None if v is None else str(v) for k, v in
                           (("rate", s.rate), ("from", s.start), ("to", s.end), ("discount", s.discount))}
                          for s in e.slabs]}
    return {tag: [entry(e) for e in entries] for tag, entries in prices.items() if entries}
