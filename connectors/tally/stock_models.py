"""Stock items as read for selling: closing quantity and the rates in force (reference §4 "Standard rates").

A stock item's standard selling price is a date-wise list (`STANDARDPRICELIST.LIST`, RATE "1600.00/Nos");
the one in force on a day is the entry with the latest DATE not after that day. Price levels
(`FULLPRICELIST.LIST`, [U] in the reference) are the same per level, with quantity slabs and a discount
percent; for one unit sold, the slab that starts lowest applies and its discount is taken off the rate.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field

_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DatedRate(_Model):
    """One entry of a standard price (or cost) list: from `date` on, `rate` per `unit`."""

    date: date
    rate: Decimal
    unit: str = ""


class LevelRate(_Model):
    """One slab of one dated price-level entry."""

    date: date
    level: str
    rate: Decimal
    unit: str = ""
    discount: Decimal | None = None  # percent
    starting_from: Decimal | None = None
    ending_at: Decimal | None = None

    def net(self) -> Decimal:
        """The rate after the slab's discount, to the cent."""
        if not self.discount:
            return self.rate
        return (self.rate * (_HUNDRED - self.discount) / _HUNDRED).quantize(_CENT, rounding=ROUND_HALF_UP)


class StockItemPrices(_Model):
    """A stock item with what a marketplace needs: closing quantity and its selling rates."""

    name: str
    guid: str | None = None
    master_id: int | None = None
    alter_id: int | None = None
    base_unit: str | None = None
    closing_qty: Decimal | None = None
    standard_prices: list[DatedRate] = Field(default_factory=list)
    price_levels: list[LevelRate] = Field(default_factory=list)

    def standard_price_on(self, day: date) -> DatedRate | None:
        """The standard selling price in force on `day`: the latest DATE not after it."""
        return in_force(self.standard_prices, day)

    def level_price_on(self, level: str, day: date) -> LevelRate | None:
        """Price level `level`'s rate for one unit in force on `day` (the lowest slab of the latest entry)."""
        entries = [r for r in self.price_levels if r.level == level and r.date <= day]
        if not entries:
            return None
        latest = max(r.date for r in entries)
        slabs = [r for r in entries if r.date == latest]
        return min(slabs, key=lambda r: r.starting_from if r.starting_from is not None else Decimal(-1))


class MasterIdentity(_Model):
    """Who a master is and how often it changed: the (GUID, AlterID) list that shows deletions (§6)."""

    name: str
    guid: str | None = None
    master_id: int | None = None
    alter_id: int | None = None


def in_force(rates: list[DatedRate], day: date) -> DatedRate | None:
    """The entry with the latest date not after `day`, or None if every entry starts later."""
    eligible = [r for r in rates if r.date <= day]
    return max(eligible, key=lambda r: r.date) if eligible else None
