"""Pure planning of Tally stock and prices -> Walmart offers: which SKU gets which quantity and price. No I/O.

- SKU: `WALMART_SKU_MAP` (CSV `stock_item,sku`, several rows may give one item several SKUs), else the
  stock item's name (unless `only_mapped`). Two stock items claiming one SKU is an error for that SKU:
  neither is sent, since either value could be wrong.
- Quantity: Tally's closing quantity in whole units, less the safety buffer, never below 0; a negative
  or fractional closing balance is pushed as 0 or its whole part and says so.
- Listed only (optional): with Walmart's catalogue given, SKUs it does not list are left out (counted),
  and listed SKUs no Tally item gives are reported as unmatched, not sent.
- Price: the selling price in force today (standard, or the configured price level); none in force is
  an error for the price only: the SKU's quantity still goes.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path

from pipelines.sides.errors import MappingError
from pipelines.sides.tally.stock import Sellable


@dataclass(frozen=True)
class Offer:
    """What Walmart should show for one SKU (price None: not sent, see `Plan.errors`)."""

    sku: str
    stock_item: str
    quantity: int
    price: Decimal | None
    note: str = ""


@dataclass
class Plan:
    offers: list[Offer] = field(default_factory=list)
    errors: list[MappingError] = field(default_factory=list)  # record = the SKU
    not_listed: int = 0  # offers left out because Walmart does not list the SKU (listed-only mode)
    unmatched: list[str] = field(default_factory=list)  # listed on Walmart, no Tally stock item gives it


def read_walmart_sku_map(path: str | Path | None) -> dict[str, list[str]]:
    """Stock item -> SKUs from the optional `stock_item,sku` CSV; a header row is allowed."""
    if not path:
        return {}
    mapping: dict[str, list[str]] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for line, row in enumerate(csv.reader(handle), start=1):
            if not row or not "".join(row).strip() or row[0].strip().lower() == "stock_item":
                continue
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                raise ValueError(f"WALMART_SKU_MAP line {line}: expected 'stock_item,sku', got {row!r}")
            mapping.setdefault(row[0].strip(), []).append(row[1].strip())
    return mapping


def sellable_units(closing: Decimal | None, buffer: int) -> tuple[int, str]:
    """Whole units Walmart may sell: closing stock less `buffer`, never negative; and why it differs."""
    value = closing if closing is not None else Decimal(0)
    whole = max(0, int(value.to_integral_value(rounding=ROUND_FLOOR)))
    units = max(0, whole - buffer)
    notes = []
    if value < 0:
        notes.append(f"Tally closing stock is {value}")
    elif whole != value:
        notes.append(f"Tally closing stock is {value}: whole units only")
    if buffer and whole:
        notes.append(f"{min(buffer, whole)} held back")
    return units, "; ".join(notes)


def plan_offers(stock: Iterable[Sellable], sku_map: Mapping[str, list[str]], *, buffer: int = 0,
                only_mapped: bool = False, listed: Collection[str] | None = None) -> Plan:
    """One offer per SKU; SKUs two items claim and prices not in force become errors (see module doc)."""
    plan, owners, by_sku = Plan(), {}, {}
    for item in stock:
        skus = sku_map.get(item.name) or ([] if only_mapped else [item.name])
        quantity, note = sellable_units(item.quantity, buffer)
        for sku in skus:
            owners.setdefault(sku, []).append(item.name)
            by_sku[sku] = Offer(sku, item.name, quantity, item.price, note)
    if listed is not None:
        plan.unmatched = sorted(set(listed) - set(by_sku))
        plan.not_listed = sum(sku not in listed for sku in by_sku)
        by_sku = {sku: offer for sku, offer in by_sku.items() if sku in listed}
    for sku, offer in by_sku.items():
        if len(owners[sku]) > 1:
            plan.errors.append(MappingError(sku, "stock_item", f"stock items {owners[sku]} all map to this SKU"))
            continue
        if offer.price is None:
            plan.errors.append(MappingError(sku, "price", f"stock item {offer.stock_item!r} has no selling price "
                                                          "in force today"))
        plan.offers.append(offer)
    return plan
