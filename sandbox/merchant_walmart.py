"""The seeded merchant's Walmart Marketplace account, and a served Walmart simulator over it.

`generate_walmart(merchant, seed)` lists the merchant's catalogue on Walmart US (SKU = the product's
SKU, as Tally names its stock items except the ~5% known there only by alias; `sku_map_csv` gives
those as `stock_item,sku`), priced in USD at a fixed rate from the rupee prices, stocked from Tally's
opening quantities over two ship nodes. It adds orders over the two weeks before `merchant.start`
(most shipped, some acknowledged or new, one with a cancelled line, one for a SKU Tally lacks, one not
yet released), a refunded return and an open one, and publishes one settlement period holding the
shipped sales, the refund and a fee adjustment. The sandbox clock starts at `merchant.start`.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sandbox.merchant import INR_PER_USD, Merchant, usd  # noqa: F401 (INR_PER_USD: re-exported)
from sandbox.runner import ServedApp, serve
from sandbox.walmart import Clock, ShipNode, WalmartState, create_app
from sandbox.walmart.builders import Buyer, LineSpec, order_doc
from sandbox.walmart.catalog import Item
from sandbox.walmart.orders import Order

CLIENT_ID = "sandbox-walmart-client-id"
CLIENT_SECRET = "sandbox-walmart-client-secret"
SHIP_NODES = [ShipNode("10001234501", "Sharma & Sons NJ Warehouse"),
              ShipNode("10001234502", "Sharma & Sons CA Warehouse")]
BUYER_PLACES = (("Edison", "NJ", "08817", "0.06625"), ("Jersey City", "NJ", "07302", "0.06625"),
                ("Fremont", "CA", "94538", "0.1025"), ("Houston", "TX", "77001", "0.0825"),
                ("Chicago", "IL", "60601", "0.1025"), ("Seattle", "WA", "98101", "0.1035"),
                ("Atlanta", "GA", "30301", "0.089"), ("Queens", "NY", "11373", "0.08875"))
FEE_ADJUSTMENT = {"description": "Walmart Shipping Label", "code": "SHIPPING_LABEL_FEE", "amount": "-5.40"}


@dataclass(frozen=True)
class WalmartSpecials:
    """Purchase orders and returns a test can look for by role."""

    cancelled_line: str
    unknown_sku: str
    unreleased: str
    refunded_return: str
    open_return: str
    report_date: str


def _gtin(n: int) -> str:
    body = f"0089012{n:06d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _items(merchant: Merchant, rng: random.Random) -> dict[str, Item]:
    items = {}
    for n, product in enumerate(merchant.products, start=1):
        category = product["productCategory"]["name"]
        wpid = "".join(rng.choices("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", k=12))
        items[product["sku"]] = Item(product["sku"], product["name"], usd(product["price"]), _gtin(n), wpid, category,
                                     f'["Home Page","Food","{category}"]',
                                     "PUBLISHED" if product.get("active", True) else "UNPUBLISHED")
    return items


def _stock(merchant: Merchant, state: WalmartState, rng: random.Random) -> None:
    opening = {sku: int(item["opening_qty"]) for item in merchant.tally["stock_items"]
               for sku in [item["name"], *item["aliases"]]}
    for sku in state.items:
        total = opening.get(sku, 0)
        second = total // 3 if rng.random() < 0.4 else 0
        state.inventory[(sku, SHIP_NODES[0].id)] = total - second
        if second:
            state.inventory[(sku, SHIP_NODES[1].id)] = second


def _buyer(rng: random.Random, name: str) -> Buyer:
    city, region, zipcode, rate = rng.choice(BUYER_PLACES)
    return Buyer(name, f"{rng.randint(10, 9999)} {rng.choice(('Oak', 'Main', 'Maple', 'Park'))} St", city, region,
                 zipcode, f"{rng.randint(201, 989)}555{rng.randint(1000, 9999)}", Decimal(rate))


def _order(state: WalmartState, rng: random.Random, merchant: Merchant, at: datetime, skus: list[str]) -> str:
    customer = rng.choice(merchant.customers)
    specs = [LineSpec(sku, state.items[sku].product_name, state.items[sku].price) for sku in skus]
    if sum(s.unit_price for s in specs) < 35:  # Walmart's free-shipping threshold; below it the buyer pays
        specs[0] = LineSpec(specs[0].sku, specs[0].name, specs[0].unit_price, shipping=Decimal("5.99"))
    node = SHIP_NODES[rng.random() < 0.3]
    po, co = state.next_id("po"), state.next_id("co")
    doc = order_doc(po, co, at, _buyer(rng, customer["name"]), specs, node.doc(), state.currency,
                    rng.choice(("Standard", "Standard", "Value", "Express")))
    state.add_order(doc, created=at + timedelta(minutes=rng.randint(2, 30)))
    return po


def generate_walmart(merchant: Merchant, seed: int = 7, n_orders: int = 40,
                     refunds: int = 1) -> tuple[WalmartState, WalmartSpecials]:
    """The merchant's Walmart account (deterministic per seed) and its special records.

    `n_orders` purchase orders over the 16 days before the merchant's start (plus the specials), `refunds`
    of them returned and refunded before the settlement period ends (the defaults are the demo's account).
    """
    rng = random.Random(seed * 97 + 13)
    start = merchant.start
    state = WalmartState(clock=Clock.starting_at(start), ship_nodes=list(SHIP_NODES))
    state.items = _items(merchant, rng)
    _stock(merchant, state, rng)
    listed = [sku for sku, item in state.items.items() if item.published == "PUBLISHED" and sku != merchant.unknown_sku]
    pos = []
    for n in range(max(n_orders, 8)):
        # the first order is today's: new, not yet acknowledged
        at = start - timedelta(days=16, minutes=-rng.randint(0, 15 * 24 * 60)) if n else start - timedelta(hours=5)
        pos.append(_order(state, rng, merchant, at, rng.sample(listed, rng.choice((1, 1, 2, 3)))))
    period_end = start - timedelta(days=2)
    for po in pos[1:]:
        order = state.orders[po]
        ship_at = order.created + timedelta(days=1, hours=rng.randint(0, 20))
        acked = order.created + timedelta(hours=2)
        if ship_at <= period_end and rng.random() < 0.85:
            state.order_action(po, "acknowledge", at=acked)
            state.ship_all(po, rng.choice(("UPS", "USPS", "FedEx")), at=ship_at)
        elif rng.random() < 0.5:
            state.order_action(po, "acknowledge", at=min(acked, start))
    specials = _specials(state, rng, merchant, listed, period_end, refunds)
    return state, specials


def _specials(state: WalmartState, rng: random.Random, merchant: Merchant, listed: list[str],
              period_end: datetime, refunds: int = 1) -> WalmartSpecials:
    start = merchant.start
    cancelled = _order(state, rng, merchant, start - timedelta(days=3), rng.sample(listed, 2))
    state.order_action(cancelled, "cancel", {"orderCancellation": {"orderLines": {"orderLine": [{
        "lineNumber": "2", "orderLineStatuses": {"orderLineStatus": [{
            "status": "Cancelled", "cancellationReason": "SELLER_CANCEL_OUT_OF_STOCK",
            "statusQuantity": {"unitOfMeasurement": "EACH", "amount": "1"}}]}}]}}}, at=start - timedelta(days=2))
    unknown = _order(state, rng, merchant, start - timedelta(days=1), [merchant.unknown_sku, listed[0]])
    unreleased = _order(state, rng, merchant, start - timedelta(hours=1), [listed[1]])
    state.orders[unreleased].released = False
    shipped = [o for o in state.orders.values() if "Shipped" in o.statuses()]
    refunded = state.create_return(shipped[0].po, ["1"], "DAMAGED_ITEM", at=period_end - timedelta(days=3))
    state.refund_return(refunded, at=period_end - timedelta(days=2))
    open_return = state.create_return(shipped[1].po, ["1"], "ARRIVED_LATE", at=start - timedelta(hours=20))
    _more_refunds(state, shipped[2:], refunds - 1, period_end)
    settlement = state.publish_settlement(start - timedelta(days=16), period_end, adjustments=[FEE_ADJUSTMENT])
    return WalmartSpecials(cancelled, unknown, unreleased, refunded, open_return, settlement.report_date)


def _more_refunds(state: WalmartState, shipped: list[Order], count: int, period_end: datetime) -> None:
    """`count` more returns refunded inside the settlement period, each opened a day after its order last
    changed (shipped) and refunded the day after (no random draws: the default account is unchanged)."""
    early = [o for o in shipped if o.modified <= period_end - timedelta(days=3)]
    for order in early[:max(count, 0)]:
        rma = state.create_return(order.po, ["1"], "DAMAGED_ITEM", at=order.modified + timedelta(days=1))
        state.refund_return(rma, at=order.modified + timedelta(days=2))


def sku_map_csv(merchant: Merchant) -> str:
    """`stock_item,sku` rows for the stock items Tally names differently from their Walmart SKU."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["stock_item", "sku"])
    for item in merchant.tally["stock_items"]:
        sku = next((alias for alias in item["aliases"] if not alias.isdigit()), None)
        if sku is not None and item["name"] != sku:
            writer.writerow([item["name"], sku])
    return out.getvalue()


def start_walmart(merchant: Merchant, seed: int | None = None, *, rate_limits: bool = True, n_orders: int = 40,
                  refunds: int = 1) -> tuple[ServedApp, WalmartState]:
    """Serve a Walmart simulator seeded from `merchant` on a free loopback port (sizes as `generate_walmart`)."""
    state, _ = generate_walmart(merchant, merchant.seed if seed is None else seed, n_orders, refunds)
    served = serve(create_app(state, credentials={CLIENT_ID: CLIENT_SECRET}, rate_limits=rate_limits))
    return served, state


def walmart_env(served: ServedApp) -> dict[str, str]:
    """Environment variables pointing ml-connector at a served simulator."""
    return {"WALMART_BASE_URL": served.base_url, "WALMART_CLIENT_ID": CLIENT_ID,
            "WALMART_CLIENT_SECRET": CLIENT_SECRET}
