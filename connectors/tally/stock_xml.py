"""Stock item reads by change (reference §6 "Incremental sync"): requests with a cut FETCH list, streamed replies.

- `stock_prices_request`: items altered after an AlterID cursor (`$AlterId > n`), with closing
  quantity (as of SVTODATE) and the standard price and price-level lists.
- `stock_identities_request`: every item's name, GUID, MasterId and AlterId and nothing else; an item
  that vanished from this list was deleted (deletions do not move AlterID).
- `stock_quantities_request`: every item's name and closing quantity. A voucher changes closing stock
  without altering the item, so quantities follow the company's AltVchId, not the item's AlterID.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import TypeVar

from connectors.tally.errors import TallyProtocolError
from connectors.tally.stock_models import DatedRate, LevelRate, MasterIdentity, StockItemPrices
from connectors.tally.xml_export import collection_request, compare
from connectors.tally.xml_parse import Element, element_text, stream_objects
from connectors.tally.xml_records import text
from connectors.tally.xml_values import parse_date, parse_decimal, parse_int, parse_quantity, parse_rate

IDENTITY_FETCH = ["Name", "Guid", "MasterId", "AlterId"]
QUANTITY_FETCH = ["Name", "BaseUnits", "ClosingBalance"]
PRICE_FETCH = ["StandardPriceList", "FullPriceList"]
T = TypeVar("T")


def stock_prices_request(company: str, *, alter_id_after: int | None = None, as_of: date | None = None,
                         quantities: bool = True) -> str:
    """Stock items altered after `alter_id_after` (all if None), with rates and, if asked, closing quantity."""
    fetch = [*IDENTITY_FETCH, "BaseUnits", *(["ClosingBalance"] if quantities else []), *PRICE_FETCH]
    filters = None if alter_id_after is None else {"mlSince": compare("AlterId", ">", alter_id_after)}
    return collection_request(company, "MLStockPrices", "StockItem", fetch, filters, to_date=as_of)


def stock_identities_request(company: str) -> str:
    """Every stock item's identity and AlterID, nothing else."""
    return collection_request(company, "MLStockIds", "StockItem", IDENTITY_FETCH)


def stock_quantities_request(company: str, as_of: date | None = None) -> str:
    """Every stock item's closing quantity as of `as_of` (SVTODATE; Tally's current period if None)."""
    return collection_request(company, "MLStockQty", "StockItem", QUANTITY_FETCH, to_date=as_of)


def iter_stock_prices(reply: str) -> Iterator[StockItemPrices]:
    """Stock items of a `stock_prices_request` reply, parsed one at a time."""
    return _each(reply, stock_prices)


def iter_identities(reply: str) -> Iterator[MasterIdentity]:
    return _each(reply, identity)


def iter_quantities(reply: str) -> Iterator[tuple[str, Decimal | None]]:
    """(name, closing quantity or None) per stock item."""
    return _each(reply, lambda obj: (_name(obj), _quantity(obj)))


def _each(reply: str, build: Callable[[Element], T]) -> Iterator[T]:
    for obj in stream_objects(reply, "STOCKITEM"):
        try:
            yield build(obj)
        except ValueError as exc:
            raise TallyProtocolError(f"unreadable STOCKITEM {obj.get('NAME') or '?'!r}: {exc}") from None


def _name(obj: Element) -> str:
    name = obj.get("NAME") or text(obj, "NAME")
    if not name:
        raise ValueError("object has no NAME")
    return name


def identity(obj: Element) -> MasterIdentity:
    return MasterIdentity(name=_name(obj), guid=text(obj, "GUID"), master_id=parse_int(text(obj, "MASTERID")),
                          alter_id=parse_int(text(obj, "ALTERID")))


def _quantity(obj: Element) -> Decimal | None:
    found = parse_quantity(text(obj, "CLOSINGBALANCE"))
    return None if found is None else found[0]


def stock_prices(obj: Element) -> StockItemPrices:
    """One STOCKITEM with its closing quantity and rate lists; a rate's unit suffix is kept apart."""
    ident = identity(obj)
    return StockItemPrices(
        **ident.model_dump(), base_unit=text(obj, "BASEUNITS"), closing_qty=_quantity(obj),
        standard_prices=[r for r in map(_dated_rate, obj.iterfind("STANDARDPRICELIST.LIST")) if r is not None],
        price_levels=[r for e in obj.iterfind("FULLPRICELIST.LIST") for r in _level_rates(e)],
    )


def _dated_rate(el: Element) -> DatedRate | None:
    day, rate = parse_date(text(el, "DATE")), parse_rate(text(el, "RATE"))
    if day is None and rate is None:
        return None  # the empty placeholder Tally writes for an empty list
    if day is None or rate is None:
        raise ValueError(f"STANDARDPRICELIST.LIST needs DATE and RATE, got {element_text(el)!r}")
    return DatedRate(date=day, rate=rate[0], unit=rate[1])


def _level_rates(el: Element) -> list[LevelRate]:
    day, level = parse_date(text(el, "DATE")), text(el, "PRICELEVEL")
    slabs = [s for s in el.iterfind("PRICELEVELLIST.LIST") if text(s, "RATE")]
    if day is None and not slabs:
        return []
    if day is None or not level or not slabs:
        raise ValueError("FULLPRICELIST.LIST needs DATE, PRICELEVEL and a RATE")
    return [_slab(day, level, s) for s in slabs]


def _slab(day: date, level: str, el: Element) -> LevelRate:
    rate = parse_rate(text(el, "RATE")) or (Decimal(0), "")  # only slabs with a RATE get here
    start, end = parse_quantity(text(el, "STARTINGFROM")), parse_quantity(text(el, "ENDINGAT"))
    return LevelRate(date=day, level=level, rate=rate[0], unit=rate[1], discount=parse_decimal(text(el, "DISCOUNT")),
                     starting_from=None if start is None else start[0], ending_at=None if end is None else end[0])
