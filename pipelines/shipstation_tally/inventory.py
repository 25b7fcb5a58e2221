"""Pure planning of the Tally -> ShipStation inventory push: which SKUs to set, and to what. No I/O.

Tally's closing quantity of the stock item a SKU resolves to (the same resolver the vouchers use)
is the truth; ShipStation's V2 on-hand is set to it with an `adjust` transaction (absolute, reference
§5.2) only where the two differ. Tally may hold a negative closing balance (sold before it was
received) or a fraction; ShipStation counts whole units, so those push as 0 or the whole part and
say so. SKUs with no stock item are reported, not pushed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from pipelines.shipstation_tally.mapping import SkuResolver


@dataclass(frozen=True)
class LevelChange:
    sku: str
    stock_item: str
    current: int | None
    target: int
    note: str = ""


@dataclass
class InventoryPlan:
    changes: list[LevelChange] = field(default_factory=list)
    matching: dict[str, int] = field(default_factory=dict)  # SKU -> level, already equal to Tally
    unmapped: list[str] = field(default_factory=list)

    @property
    def unchanged(self) -> int:
        return len(self.matching)


def whole_units(closing: Decimal | None) -> tuple[int, str]:
    """ShipStation's count for a Tally closing quantity, and why it differs from it if it does."""
    value = closing if closing is not None else Decimal(0)
    if value < 0:
        return 0, f"Tally closing stock is {value}: pushed as 0"
    whole = int(value.to_integral_value(rounding=ROUND_FLOOR))
    return whole, ("" if whole == value else f"Tally closing stock is {value}: pushed as {whole}")


def plan_inventory(skus: Iterable[str], resolver: SkuResolver, closing: Mapping[str, Decimal | None],
                   on_hand: Mapping[str, int]) -> InventoryPlan:
    """The adjustments that make ShipStation's on-hand equal Tally's closing stock, SKU by SKU."""
    plan = InventoryPlan()
    for sku in dict.fromkeys(skus):
        ref = resolver.resolve(sku)
        if ref is None or ref.name not in closing:
            plan.unmapped.append(sku)
            continue
        target, note = whole_units(closing[ref.name])
        current = on_hand.get(sku)
        if current == target:
            plan.matching[sku] = target
        else:
            plan.changes.append(LevelChange(sku, ref.name, current, target, note))
    return plan
