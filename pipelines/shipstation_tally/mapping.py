"""Pure mapping from ShipStation V1 orders to TallyPrime order vouchers. No I/O.

Sign rule (TallyPrime reference §3): a debit is a negative amount with ISDEEMEDPOSITIVE Yes, a credit
a positive amount with No, and a voucher nets to zero. For an outward order (Sales Order and the
like) the items, shipping and tax are credits, a discount (ShipStation `adjustment` line, negative
`unitPrice`) is a debit, and the party owes the order total (debit). An inward type (Purchase
Order, which some merchants use for incoming marketplace orders) mirrors every sign.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from connectors.common.timezones import local_date
from connectors.shipstation.models import Order, OrderItem
from connectors.tally.models import InventoryEntry, LedgerEntry, Voucher

CENT = Decimal("0.01")


class MappingError(ValueError):
    """A source record that cannot become a voucher; names the record and the field."""

    def __init__(self, record: str, field: str, message: str) -> None:
        super().__init__(f"{record}: {field}: {message}")
        self.record, self.field, self.message = record, field, message


@dataclass(frozen=True)
class OrderVoucherConfig:
    voucher_type: str = "Sales Order"
    sales_ledger: str = "Sales"
    shipping_ledger: str = "Shipping Charges"
    tax_ledger: str = "Output Tax"
    discount_ledger: str = "Discount Allowed"
    godown: str = "Main Location"
    timezone: str = "Asia/Kolkata"
    inward: bool | None = None

    @property
    def is_inward(self) -> bool:
        return self.inward if self.inward is not None else "purchase" in self.voucher_type.lower()


@dataclass(frozen=True)
class StockItemRef:
    name: str
    unit: str


@dataclass
class SkuResolver:
    """SKU -> Tally stock item: the mapping file first, then an exact item name, then an alias."""

    by_name: dict[str, StockItemRef] = field(default_factory=dict)
    by_alias: dict[str, StockItemRef] = field(default_factory=dict)
    sku_map: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, items: Iterable[tuple[str, list[str], str | None]],
              sku_map: Mapping[str, str] | None = None) -> SkuResolver:
        resolver = cls(sku_map=dict(sku_map or {}))
        for name, aliases, unit in items:
            ref = StockItemRef(name, unit or "Nos")
            resolver.by_name[name] = ref
            for alias in aliases:
                resolver.by_alias.setdefault(alias, ref)
        return resolver

    def resolve(self, sku: str) -> StockItemRef | None:
        mapped = self.sku_map.get(sku)
        if mapped is not None:
            return self.by_name.get(mapped) or self.by_alias.get(mapped)
        return self.by_name.get(sku) or self.by_alias.get(sku)


def external_key(order: Order) -> str:
    """Our stable identity for the order's voucher; survives edits of every business field."""
    return f"ss-order-{order.order_id}"


def marker(key: str) -> str:
    """The tag written into the voucher narration so the voucher can be found again by key."""
    return f"[ext:{key}]"


def describe(order: Order) -> str:
    return f"order {order.order_number} (orderId {order.order_id})"


def customer_ledger_name(order: Order) -> str:
    """The party ledger for an order: the bill-to name, else ship-to name, else the customer's email."""
    for candidate in (order.bill_to and order.bill_to.name, order.ship_to and order.ship_to.name,
                      order.customer_email, order.customer_username):
        if candidate and candidate.strip():
            return " ".join(candidate.split())
    raise MappingError(describe(order), "billTo.name", "order has no customer name or email to name a ledger")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def order_to_voucher(order: Order, party_ledger: str, skus: SkuResolver, cfg: OrderVoucherConfig) -> Voucher:
    """Map one ShipStation order to one Tally order voucher (action Create)."""
    sign = Decimal(-1) if cfg.is_inward else Decimal(1)
    inventory, ledgers, goods, adjustments = _lines(order, skus, cfg, sign)
    if not inventory:
        raise MappingError(describe(order), "items", "order has no stock lines to put on a voucher")
    shipping, tax = money(order.shipping_amount or Decimal(0)), money(order.tax_amount or Decimal(0))
    total = goods + adjustments + shipping + tax
    if order.order_total is not None and money(order.order_total) != total:
        raise MappingError(describe(order), "orderTotal",
                           f"{order.order_total} differs from lines + shipping + tax = {total}")
    for ledger, amount in ((cfg.shipping_ledger, shipping), (cfg.tax_ledger, tax)):
        if amount:
            ledgers.append(LedgerEntry(ledger_name=ledger, amount=sign * amount))
    party = LedgerEntry(ledger_name=party_ledger, amount=-sign * total, is_party=True)
    return Voucher(
        voucher_type=cfg.voucher_type, action="Create", date=local_date(order.order_date, cfg.timezone),
        voucher_number=order.order_number, reference=order.order_number, party_ledger=party_ledger,
        narration=f"ShipStation order {order.order_number} {marker(external_key(order))}",
        ledger_entries=[party, *ledgers], inventory_entries=inventory,
    )


def _lines(order: Order, skus: SkuResolver, cfg: OrderVoucherConfig, sign: Decimal):
    inventory: list[InventoryEntry] = []
    ledgers: list[LedgerEntry] = []
    goods = adjustments = Decimal(0)
    for index, item in enumerate(order.items):
        if item.quantity < 0:
            raise MappingError(describe(order), f"items[{index}].quantity", f"negative quantity {item.quantity}")
        amount = money(Decimal(item.quantity) * item.unit_price)
        if item.adjustment:
            adjustments += amount
            if amount:
                ledgers.append(LedgerEntry(ledger_name=cfg.discount_ledger, amount=sign * amount))
            continue
        if item.quantity == 0:
            continue  # a zero line adds nothing to stock or totals (reference pitfall 12)
        ref = _stock_item(order, index, item, skus)
        goods += amount
        inventory.append(InventoryEntry(
            stock_item=ref.name, quantity=Decimal(item.quantity), unit=ref.unit, rate=item.unit_price,
            amount=sign * amount, godown=cfg.godown, order_no=order.order_number,
            accounting_ledger=cfg.sales_ledger,
        ))
    return inventory, ledgers, goods, adjustments


def _stock_item(order: Order, index: int, item: OrderItem, skus: SkuResolver) -> StockItemRef:
    if not item.sku:
        raise MappingError(describe(order), f"items[{index}].sku", f"line {item.name!r} has no SKU")
    ref = skus.resolve(item.sku)
    if ref is None:
        raise MappingError(describe(order), f"items[{index}].sku",
                           f"SKU {item.sku!r} has no stock item in Tally (name, alias or TALLY_SKU_MAP)")
    return ref


def payload_hash(voucher: Voucher) -> str:
    """A stable hash of what a voucher says, independent of how it will be sent (create or alter)."""
    body = voucher.model_dump_json(exclude={"action", "master_id"})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
