"""Pure mapping from ShipStation V1 orders to TallyPrime order vouchers. No I/O.

The ShipStation order is read into the Tally side's neutral lines (stock lines at the order's
rates, shipping and tax as charges, ShipStation `adjustment` lines, negative `unitPrice`, as a
discount charge) and built by `pipelines.sides.tally.builders.order_voucher`, which owns the sign
rule. An inward type (Purchase Order, which some merchants use for incoming marketplace orders)
mirrors every sign.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from connectors.common.timezones import local_date
from connectors.shipstation.models import Order, OrderItem
from connectors.tally.models import Voucher
from pipelines.sides.errors import MappingError
from pipelines.sides.tally.builders import Charge, Header, StockLine, money, order_voucher, payload_hash
from pipelines.sides.tally.markers import marker
from pipelines.sides.tally.masters import party_ledger_name
from pipelines.sides.tally.skus import SkuResolver, StockItemRef

__all__ = ["MappingError", "OrderVoucherConfig", "SkuResolver", "customer_ledger_name", "describe", "external_key",
           "order_to_voucher", "payload_hash"]


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


def external_key(order: Order) -> str:
    """Our stable identity for the order's voucher; survives edits of every business field."""
    return f"ss-order-{order.order_id}"


def describe(order: Order) -> str:
    return f"order {order.order_number} (orderId {order.order_id})"


def customer_ledger_name(order: Order) -> str:
    """The party ledger for an order: the bill-to name, else ship-to name, else the customer's email."""
    name = party_ledger_name(order.bill_to and order.bill_to.name, order.ship_to and order.ship_to.name,
                             order.customer_email, order.customer_username)
    if name is None:
        raise MappingError(describe(order), "billTo.name", "order has no customer name or email to name a ledger")
    return name


def order_to_voucher(order: Order, party_ledger: str, skus: SkuResolver, cfg: OrderVoucherConfig) -> Voucher:
    """Map one ShipStation order to one Tally order voucher (action Create)."""
    if order.order_date is None:  # found by the fuzzer: the model allows it, the voucher needs a date
        raise MappingError(describe(order), "orderDate", "order has no orderDate to date its voucher")
    lines, charges = _lines(order, skus, cfg)
    if not lines:
        raise MappingError(describe(order), "items", "order has no stock lines to put on a voucher")
    charges += (Charge(cfg.shipping_ledger, money(order.shipping_amount or Decimal(0))),
                Charge(cfg.tax_ledger, money(order.tax_amount or Decimal(0))))
    total = sum([line.amount for line in lines], Decimal(0)) + sum([c.amount for c in charges], Decimal(0))
    if order.order_total is not None and money(order.order_total) != total:
        raise MappingError(describe(order), "orderTotal",
                           f"{order.order_total} differs from lines + shipping + tax = {total}")
    number = order.order_number
    header = Header(describe(order), cfg.voucher_type, local_date(order.order_date, cfg.timezone),
                    f"ShipStation order {number} {marker(external_key(order))}", party_ledger, number, number)
    return order_voucher(header, lines, [c for c in charges if c.amount], inward=cfg.is_inward)


def _lines(order: Order, skus: SkuResolver, cfg: OrderVoucherConfig) -> tuple[list[StockLine], list[Charge]]:
    """The order's stock lines, and its discounts (`adjustment` lines) as charges."""
    lines: list[StockLine] = []
    discounts: list[Charge] = []
    for index, item in enumerate(order.items):
        quantity = item.quantity
        if quantity < 0:
            raise MappingError(describe(order), f"items[{index}].quantity", f"negative quantity {quantity}")
        if item.adjustment:
            discounts.append(Charge(cfg.discount_ledger, money(Decimal(quantity) * item.unit_price)))
            continue
        if quantity == 0:
            continue  # a zero line adds nothing to stock or totals (reference pitfall 12)
        lines.append(StockLine(_stock_item(order, index, item, skus), Decimal(quantity), item.unit_price, cfg.godown,
                               cfg.sales_ledger, order.order_number))
    return lines, discounts


def _stock_item(order: Order, index: int, item: OrderItem, skus: SkuResolver) -> StockItemRef:
    if not item.sku:
        raise MappingError(describe(order), f"items[{index}].sku", f"line {item.name!r} has no SKU")
    ref = skus.resolve(item.sku)
    if ref is None:
        raise MappingError(describe(order), f"items[{index}].sku",
                           f"SKU {item.sku!r} has no stock item in Tally (name, alias or TALLY_SKU_MAP)")
    return ref
