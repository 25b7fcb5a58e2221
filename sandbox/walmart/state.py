"""In-memory Walmart seller account: items, stock per ship node, orders, returns, feeds, settlements, tokens.

Every change takes the state's lock; time comes from one `Clock` (advance it from the control plane).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox.walmart import order_actions, settlements
from sandbox.walmart.builders import return_doc
from sandbox.walmart.catalog import Item, ItemProblem, checked_price, checked_quantity, known
from sandbox.walmart.clock import Clock, epoch_ms, iso_z
from sandbox.walmart.delivery import Notifications
from sandbox.walmart.feeds import Feeds
from sandbox.walmart.notifications import po_created
from sandbox.walmart.orders import PARTNER_ID, Order, move, status_quantities
from sandbox.walmart.recon import Settlement
from sandbox.walmart.returns import ReturnOrder, complete_line

Record = dict[str, Any]
TOKEN_SECONDS = 900  # reference §2: expires_in 900
# Id lengths as in the examples: 13-digit PO and customer order ids, 18-digit return order ids.
ID_STARTS = {"po": 1_796_277_083_000, "co": 5_281_956_426_000, "rma": 103_738_048_909_818_000}


@dataclass(frozen=True)
class ShipNode:
    id: str
    name: str
    type: str = "SellerFulfilled"

    def doc(self) -> Record:
        return {"type": self.type, "name": self.name, "id": self.id}


@dataclass
class WalmartState:
    """One seller's account. `ship_nodes[0]` is the default node of the single-node inventory API."""

    clock: Clock = field(default_factory=Clock)
    currency: str = "USD"
    partner_id: str = PARTNER_ID
    ship_nodes: list[ShipNode] = field(default_factory=lambda: [ShipNode("10001234501", "Main Warehouse")])
    items: dict[str, Item] = field(default_factory=dict)
    inventory: dict[tuple[str, str], int] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    returns: dict[str, ReturnOrder] = field(default_factory=dict)
    settlements: dict[str, Settlement] = field(default_factory=dict)
    feeds: Feeds = field(default_factory=Feeds)
    notifications: Notifications = field(default_factory=Notifications, repr=False)
    tokens: dict[str, datetime] = field(default_factory=dict, repr=False)
    counters: dict[str, int] = field(default_factory=lambda: dict(ID_STARTS), repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # --- tokens -------------------------------------------------------------------------------
    def issue_token(self) -> str:
        """A new access token valid for 900 s of the sandbox clock."""
        token = secrets.token_urlsafe(48)
        with self.lock:
            self.tokens[token] = self.clock.now() + timedelta(seconds=TOKEN_SECONDS)
        return token

    def token_state(self, token: str) -> str:
        """`valid`, `expired` or `unknown`."""
        with self.lock:
            expiry = self.tokens.get(token)
        if expiry is None:
            return "unknown"
        return "valid" if self.clock.now() < expiry else "expired"

    def revoke_tokens(self) -> int:
        """Forget every token (a test of refresh-on-401); how many there were."""
        with self.lock:
            count, self.tokens = len(self.tokens), {}
        return count

    # --- catalogue, stock, prices --------------------------------------------------------------
    @property
    def default_node(self) -> str:
        return self.ship_nodes[0].id

    def node(self, ship_node: str | None) -> str:
        """The ship node id to use (default when None); ItemProblem when unknown."""
        if ship_node in (None, ""):
            return self.default_node
        if ship_node not in {n.id for n in self.ship_nodes}:
            raise ItemProblem("ERR_EXT_DATA_0400001", "shipNode", f"[sandbox] unknown shipNode {ship_node}")
        return ship_node  # type: ignore[return-value]

    def set_quantity(self, sku: Any, quantity: Any, ship_node: str | None = None) -> tuple[str, int]:
        """Validate and store one SKU's quantity at one node."""
        sku = known(sku, self.items)
        amount = checked_quantity(quantity)
        node = self.node(ship_node)
        with self.lock:
            self.inventory[(sku, node)] = amount
        return sku, amount

    def set_price(self, sku: Any, pricing: Any) -> Decimal:
        """Validate and store one SKU's price."""
        sku = known(sku, self.items)
        price = checked_price(pricing, self.currency)
        with self.lock:
            self.items[sku].price = price
        return price

    def apply_feed_item(self, feed_type: str, sku: str, entry: Record) -> None:
        """Apply one item of a processed feed (raises ItemProblem for a DATA_ERROR)."""
        if feed_type == "price":
            self.set_price(sku, entry.get("pricing"))
        elif feed_type == "inventory":
            self.set_quantity(sku, entry.get("quantity"), entry.get("shipNode"))
        else:
            nodes = entry.get("shipNodes")
            if not isinstance(nodes, list) or not nodes:
                raise ItemProblem("ERR_EXT_DATA_0400002", "shipNodes", "[sandbox] shipNodes must be a non-empty list")
            for node in nodes:
                node = node if isinstance(node, dict) else {}
                self.set_quantity(sku, node.get("quantity"), str(node.get("shipNode") or "") or None)

    def settle_feeds(self, *, finish_all: bool = False) -> int:
        """Advance the feeds to the clock's now (or finish them all)."""
        appliers = {kind: (lambda sku, entry, kind=kind: self.apply_feed_item(kind, sku, entry))
                    for kind in ("price", "inventory", "MP_INVENTORY")}
        with self.lock:
            return self.feeds.settle(self.clock.now(), appliers, finish_all=finish_all)

    # --- orders and returns ----------------------------------------------------------------------
    def next_id(self, kind: str) -> str:
        """The next purchase order (`po`), customer order (`co`) or return (`rma`) id."""
        with self.lock:
            self.counters[kind] += 1
            return str(self.counters[kind])

    def add_order(self, doc: Record, *, created: datetime | None = None, released: bool = True) -> Order:
        """Store a purchase order document (Walmart shape); it is listed once released."""
        at = created or self.clock.now()
        order = Order(doc, at, at, released)
        with self.lock:
            self.orders[order.po] = order
        if released:
            self._announce(order)
        return order

    def release(self, po: str) -> Order:
        """Make an order visible to the seller (released from Walmart's OMS); PO_CREATED goes out once."""
        with self.lock:
            order = self.orders[po]
            first = not order.released
            order.released, order.modified = True, self.clock.now()
        if first:
            self._announce(order)
        return order

    def _announce(self, order: Order) -> None:
        """PO_CREATED to the active subscriptions (queued: delivery never holds up the caller)."""
        self.notifications.publish("PO_CREATED", lambda: po_created(order.doc, self.partner_id, self.clock.now()))

    def order_action(self, po: str, action: str, body: Any = None, at: datetime | None = None) -> Order:
        """`acknowledge`, `cancel` or `ship` an order, under the lock (at `at`, default now)."""
        with self.lock:
            order = self.orders[po]
            now = at or self.clock.now()
            if action == "acknowledge":
                order_actions.acknowledge(order, now)
            else:
                getattr(order_actions, action)(order, body, now)
            return order

    def ship_all(self, po: str, carrier: str = "UPS", at: datetime | None = None) -> int:
        """Ship every open unit of an order with tracking (control plane); the units shipped."""
        when = at or self.clock.now()
        shipped = 0
        with self.lock:
            order = self.orders[po]
            for line in order.lines:
                units = sum(status_quantities(line).get(s, 0) for s in ("Created", "Acknowledged"))
                if not units:
                    continue
                number = f"1Z{po[-8:]}{line['lineNumber'].zfill(3)}"
                tracking = {"shipDateTime": epoch_ms(when), "carrierName": {"carrier": carrier},
                            "methodCode": order.doc["shippingInfo"]["methodCode"], "trackingNumber": number,
                            "trackingURL": f"https://www.walmart.com/tracking?tracking_id={number}&order_id={po}"}
                move(line, units, ("Created", "Acknowledged"), "Shipped", when, trackingInfo=tracking)
                line.setdefault("sellerOrderId", po)
                shipped += units
            order.modified = when
        return shipped

    def create_return(self, po: str, line_numbers: list[str], reason: str, at: datetime | None = None) -> str:
        """Open a REFUND return of whole lines of an order (the customer's part); its id."""
        when = at or self.clock.now()
        rma = self.next_id("rma")
        with self.lock:
            order = self.orders[po]
            self.add_return(return_doc(rma, order, line_numbers, reason, when, self.currency), created=when)
            for number in line_numbers:
                order.line(number)["returnOrderId"] = rma
            order.modified = when
        return rma

    def add_return(self, doc: Record, *, created: datetime | None = None) -> ReturnOrder:
        at = created or self.clock.now()
        ret = ReturnOrder(doc, at, at)
        with self.lock:
            self.returns[ret.rma] = ret
        return ret

    def refund_return(self, rma: str, at: datetime | None = None) -> ReturnOrder:
        """Complete the refund of every line of a return (control plane)."""
        when = at or self.clock.now()
        with self.lock:
            ret = self.returns[rma]
            for line in ret.doc["returnOrderLines"]:
                complete_line(line, when)
            ret.modified = when
        return ret

    # --- settlements -------------------------------------------------------------------------------
    def publish_settlement(self, start: datetime, end: datetime, report_date: str | None = None,
                           adjustments: Iterable[Record] = ()) -> Settlement:
        """Build and publish the settlement of [start, end] from what happened in it."""
        with self.lock:
            txns = settlements.sales(self.orders.values(), self.items, start, end)
            txns += settlements.refunds(self.returns.values(), self.orders, self.items, start, end)
            txns += settlements.adjustments(adjustments, end)
            txns.sort(key=lambda t: (t.posted, t.key))
            date = report_date or (end + timedelta(days=1)).strftime("%m%d%Y")
            settlement = Settlement(date, start, end, self.currency, self.partner_id, txns, self.clock.now())
            self.settlements[date] = settlement
        return settlement

    def snapshot(self) -> Record:
        """Counts, for the control plane."""
        with self.lock:
            return {"now": iso_z(self.clock.now()), "items": len(self.items), "orders": len(self.orders),
                    "released": sum(o.released for o in self.orders.values()), "returns": len(self.returns),
                    "feeds": len(self.feeds.feeds), "settlements": sorted(self.settlements),
                    "tokens": len(self.tokens)}
