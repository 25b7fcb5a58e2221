"""Pure mapping from Walmart purchase orders and returns to TallyPrime vouchers. No I/O.

- A purchase order becomes one Sales voucher (bill-wise, the bill named by the PO number) against
  the customer's ledger or one marketplace ledger (`party_mode`): a stock line per live order line at
  its PRODUCT charge, shipping and tax as charges. Cancelled lines are not invoiced; when a line is
  cancelled after posting, the voucher says less and the poster alters it; when every line is
  cancelled, the voucher is cancelled.
- The ship node picks the cost centre of the income lines and the ledger group a new customer
  ledger is created under (`WALMART_SHIP_NODE_MAP`, CSV `ship_node,cost_centre,ledger_group`).
- A refunded return becomes one Credit Note per purchase order it touches, against that sale's bill,
  on the party the sale was posted to.

Walmart sends line charges as line totals (reference §7: "sum PRODUCT + SHIPPING charges and their
tax per line"); the rate is the line amount over its quantity.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

from connectors.common.timezones import local_date
from connectors.tally.models import Voucher
from connectors.walmart.models import Order, OrderLine, ReturnLine, ReturnOrder
from pipelines.sides.errors import MappingError
from pipelines.sides.tally.builders import Charge, Header, StockLine, credit_note, money, sales_invoice
from pipelines.sides.tally.markers import marker
from pipelines.sides.tally.masters import party_ledger_name
from pipelines.sides.tally.skus import SkuResolver, StockItemRef


@dataclass(frozen=True)
class ShipNodeRoute:
    """Where a ship node's sales land: a cost centre, and the group its customers' ledgers sit under."""

    cost_centre: str | None = None
    ledger_group: str | None = None


@dataclass(frozen=True)
class SalesConfig:
    voucher_type: str = "Sales"
    credit_note_type: str = "Credit Note"
    party_mode: Literal["customer", "marketplace"] = "customer"
    customer_group: str = "Sundry Debtors"
    sales_ledger: str = "Sales"
    shipping_ledger: str = "Shipping Charges"
    tax_ledger: str = "Output Tax"
    godown: str = "Main Location"
    marketplace_ledger: str = "Walmart Marketplace"
    timezone: str = "Asia/Kolkata"
    ship_nodes: Mapping[str, ShipNodeRoute] = field(default_factory=dict)

    def route(self, order: Order) -> ShipNodeRoute:
        return self.ship_nodes.get(order.ship_node.id) or self.ship_nodes.get(order.ship_node.name) or ShipNodeRoute()


def sale_key(purchase_order_id: str) -> str:
    """Our stable identity for a PO's Sales voucher."""
    return f"wm-po-{purchase_order_id}"


def credit_note_key(return_order_id: str, purchase_order_id: str) -> str:
    return f"wm-rma-{return_order_id}-{purchase_order_id}"


def describe(order: Order) -> str:
    return f"Walmart PO {order.purchase_order_id}"


def party_for(order: Order, cfg: SalesConfig) -> str:
    """The party ledger: the marketplace ledger, or the ship-to name (else the relay email) in customer mode."""
    if cfg.party_mode == "marketplace":
        return cfg.marketplace_ledger
    name = party_ledger_name(order.customer_name, order.customer_email)
    if name is None:
        raise MappingError(describe(order), "shippingInfo.postalAddress.name", "no customer name or email")
    return name


def party_group(order: Order, cfg: SalesConfig) -> str:
    """The group a missing party ledger is created under: the ship node's, else the customer group."""
    return cfg.route(order).ledger_group or cfg.customer_group


def order_to_sales(order: Order, party: str, skus: SkuResolver, cfg: SalesConfig) -> Voucher | None:
    """One Sales voucher for a purchase order; ``None`` when every line is cancelled (cancel the voucher)."""
    live = [line for line in order.lines if not line.is_cancelled]
    if not live:
        return None
    centre = cfg.route(order).cost_centre
    lines = [_stock_line(order, line, skus, cfg, centre) for line in live]
    shipping = money(sum((line.shipping_amount for line in live), Decimal(0)))
    tax = money(sum((line.tax_amount for line in live), Decimal(0)))
    charges = [c for c in (Charge(cfg.shipping_ledger, shipping, centre), Charge(cfg.tax_ledger, tax)) if c.amount]
    po = order.purchase_order_id
    header = Header(record=describe(order), voucher_type=cfg.voucher_type,
                    date=local_date(order.order_date, cfg.timezone), number=po,
                    reference=order.customer_order_id or po, party=party,
                    narration=f"Walmart PO {po} (order {order.customer_order_id}) {marker(sale_key(po))}")
    return sales_invoice(header, lines, charges)


def return_to_credit_notes(ret: ReturnOrder, sales: Mapping[str, tuple[str, date]], skus: SkuResolver,
                           cfg: SalesConfig) -> dict[str, Voucher]:
    """Credit Notes of a refunded return, by PO; ``sales`` gives each PO's (party, sale date)."""
    out: dict[str, Voucher] = {}
    record = f"Walmart return {ret.return_order_id}"
    for po in ret.purchase_order_ids:
        if po not in sales:
            raise MappingError(record, f"purchaseOrderId {po}", "the sale has no Sales voucher yet")
        party, _ = sales[po]
        lines = [line for line in ret.lines if line.purchase_order_id == po]
        stock = [_return_stock_line(record, line, skus, cfg) for line in lines]
        tax = money(sum((line.tax_refund for line in lines), Decimal(0)))
        shipping = money(sum((line.shipping_refund for line in lines), Decimal(0)))
        charges = [c for c in (Charge(cfg.shipping_ledger, shipping), Charge(cfg.tax_ledger, tax)) if c.amount]
        key = credit_note_key(ret.return_order_id, po)
        header = Header(record=record, voucher_type=cfg.credit_note_type,
                        date=local_date(ret.return_order_date, cfg.timezone), number=f"{ret.return_order_id}-{po}",
                        reference=po, party=party,
                        narration=f"Walmart return {ret.return_order_id} of PO {po} {marker(key)}")
        out[po] = credit_note(header, stock, charges, against=po)
    return out


def _stock_line(order: Order, line: OrderLine, skus: SkuResolver, cfg: SalesConfig,
                centre: str | None) -> StockLine:
    where = f"orderLines[{line.line_number}]"
    if line.quantity <= 0:
        raise MappingError(describe(order), f"{where}.orderLineQuantity", f"quantity {line.quantity}")
    amount = money(line.product_amount)
    if amount < 0:
        raise MappingError(describe(order), f"{where}.charges", f"negative product amount {amount}")
    return StockLine(item=_item(describe(order), where, line.sku, skus), quantity=line.quantity,
                     rate=_rate(amount, line.quantity), godown=cfg.godown, ledger=cfg.sales_ledger,
                     cost_centre=centre)


def _return_stock_line(record: str, line: ReturnLine, skus: SkuResolver, cfg: SalesConfig) -> StockLine:
    where = f"returnOrderLines[{line.return_line_number}]"
    if line.quantity <= 0:
        raise MappingError(record, f"{where}.quantity", f"quantity {line.quantity}")
    return StockLine(item=_item(record, where, line.sku, skus), quantity=line.quantity,
                     rate=_rate(money(line.product_refund), line.quantity), godown=cfg.godown,
                     ledger=cfg.sales_ledger)


def _rate(amount: Decimal, quantity: Decimal) -> Decimal:
    """A rate whose quantity × rate rounds back to ``amount`` exactly (Tally's line check)."""
    rate = amount / quantity
    exact = rate.quantize(Decimal("0.0001"))
    return exact if money(exact * quantity) == amount else rate


def _item(record: str, where: str, sku: str, skus: SkuResolver) -> StockItemRef:
    ref = skus.resolve(sku)
    if ref is None:
        raise MappingError(record, f"{where}.item.sku",
                           f"SKU {sku!r} has no stock item in Tally (name, alias or WALMART_SKU_MAP)")
    return ref


def read_ship_node_map(path: str | Path | None) -> dict[str, ShipNodeRoute]:
    """`ship_node,cost_centre,ledger_group` CSV (WALMART_SHIP_NODE_MAP); a header row and blank cells allowed."""
    if not path:
        return {}
    routes: dict[str, ShipNodeRoute] = {}
    with open(path, newline="", encoding="utf-8-sig") as handle:
        for line, row in enumerate(csv.reader(handle), start=1):
            cells = [c.strip() for c in row] + ["", "", ""]
            if not any(cells) or cells[0].lower() == "ship_node":
                continue
            if not cells[0] or not (cells[1] or cells[2]):
                raise ValueError(f"WALMART_SHIP_NODE_MAP line {line}: expected 'ship_node,cost_centre,ledger_group'")
            routes[cells[0]] = ShipNodeRoute(cells[1] or None, cells[2] or None)
    return routes
