"""In-memory ShipStation account: orders, shipments, products, customers, stores, warehouses, webhooks.

Records are plain dicts with aware UTC datetimes and `Decimal` money. Orders and shipments are never
mutated in place: every change stores a new dict, so a loaded `Merchant` is shared, not copied, and
stays intact. Sorted views and filtered results are cached per `version` and dropped on any change.
Order writes live in `orders.py`, labels in `shipping.py` (mixins of this class). Webhook events go
to `listeners` (the app's delivery dispatcher), synchronously and in the order they happen.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sandbox.shipstation import query, records
from sandbox.shipstation.errors import not_found
from sandbox.shipstation.orders import OrderWrites
from sandbox.shipstation.pacific import ticks7
from sandbox.shipstation.shipments import ShipmentBook
from sandbox.shipstation.shipping import Shipping
from sandbox.shipstation.webhooks import Event, WebhookRegistry

Record = dict[str, Any]
_FREEZE_AT = 5_000


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ShipStationState(OrderWrites, Shipping):
    """The account behind one simulator; `now` returns aware UTC (tests pass a fake clock)."""

    def __init__(
        self, *, now: Callable[[], datetime] | None = None,
        stores: Iterable[Record] | None = None, warehouses: Iterable[Record] | None = None,
    ) -> None:
        self.now = now or _utcnow
        self.orders: dict[int, Record] = {}
        self.products: dict[int, Record] = {}
        self.customers: dict[int, Record] = {}
        self.stores: list[Record] = list(stores or records.DEFAULT_STORES)
        self.warehouses: list[Record] = list(warehouses or records.DEFAULT_WAREHOUSES)
        self.version = 0
        self._inactive: set[int] = set()
        self._by_key: dict[str, int] = {}
        self._sku_to_product: dict[str, int] = {}
        self._username_to_customer: dict[str, int] = {}
        self._batches: list[list[Record]] = []
        self._batches_applied = 0
        self._next = {"order": 100_000_001, "item": 200_000_001, "customer": 300_000_001}
        self._views: dict[Any, list[Record]] = {}
        self.shipments = ShipmentBook()
        self.webhooks = WebhookRegistry()
        self.listeners: list[Callable[[Event], None]] = []
        self._pending_imports: dict[int | None, list[int]] = {}
        self._import_batches: dict[str, frozenset[int]] = {}
        self._catalog: Any = None
        self._import_rng = random.Random(0)

    # -- loading ---------------------------------------------------------------------------------

    @classmethod
    def from_merchant(cls, merchant: Any, *, now: Callable[[], datetime] | None = None) -> ShipStationState:
        """An account holding a generated `sandbox.merchant.Merchant` (shared, never mutated)."""
        state = cls(now=now, stores=getattr(merchant, "stores", None),
                    warehouses=getattr(merchant, "warehouses", None))
        state.load(products=merchant.products, customers=merchant.customers, orders=merchant.orders,
                   shipments=getattr(merchant, "shipments", ()), later_changes=getattr(merchant, "later_changes", ()))
        if callable(getattr(merchant, "new_orders", None)):
            state._catalog = merchant
            state._import_rng = random.Random(f"imports-{merchant.seed}")
        return state

    def load(
        self, *, products: Iterable[Record] = (), customers: Iterable[Record] = (),
        orders: Iterable[Record] = (), shipments: Iterable[Record] = (), later_changes: Iterable[list[Record]] = (),
    ) -> None:
        """Add existing records (ids kept) and the scheduled batches `advance()` will apply."""
        for product in sorted(products, key=lambda p: p["productId"]):
            self.products[product["productId"]] = product
            self._sku_to_product[product["sku"]] = product["productId"]
        for customer in sorted(customers, key=lambda c: c["customerId"]):
            self.customers[customer["customerId"]] = customer
            if customer.get("customerUsername"):
                self._username_to_customer[customer["customerUsername"]] = customer["customerId"]
        for order in sorted(orders, key=lambda o: o["orderId"]):
            self.orders[order["orderId"]] = order
            self._by_key[order["orderKey"]] = order["orderId"]
        self.shipments.load(shipments)
        self._batches.extend(list(batch) for batch in later_changes)
        self._bump_ids()
        self._touch()
        if len(self.orders) >= _FREEZE_AT:
            # A big, long-lived account: move it out of the cyclic GC's reach, or every full
            # collection re-walks millions of dicts and serving 100k orders slows down ~2x (at 10k
            # orders the GC was ~30% of the sandbox's CPU during a sync). Refcounting still frees
            # the records when the state goes away; the tests' accounts are far smaller.
            gc.freeze()

    def _bump_ids(self) -> None:
        items = (line["orderItemId"] for order in self.orders.values() for line in order.get("items", ()))
        for kind, ids in (("order", self.orders), ("customer", self.customers), ("item", items)):
            self._next[kind] = max(self._next[kind], max(ids, default=0) + 1)

    def _take(self, kind: str) -> int:
        value = self._next[kind]
        self._next[kind] += 1
        return value

    def _touch(self) -> None:
        self.version += 1
        self._views.clear()

    def _emit(self, event: Event) -> None:
        for listener in list(self.listeners):
            listener(event)

    # -- reads -----------------------------------------------------------------------------------

    def get_order(self, order_id: int) -> Record:
        """The stored order (inactive ones included, as the real GET by id does); 404 if unknown."""
        if order_id not in self.orders:
            raise not_found("Order", order_id)
        return self.orders[order_id]

    def is_active(self, order_id: int) -> bool:
        """False once the order was soft-deleted."""
        return order_id not in self._inactive

    def order_id_for_key(self, order_key: str) -> int | None:
        """The orderId holding `order_key`, if any."""
        return self._by_key.get(order_key)

    def _sorted_orders(self, sort_by: str | None) -> list[Record]:
        cache_key = ("sorted", sort_by)
        if cache_key not in self._views:
            active = [o for o in self.orders.values() if o["orderId"] not in self._inactive]
            if sort_by is not None:
                # Dict order is orderId order (ids only grow), so a stable sort breaks ties by id.
                active.sort(key=lambda o: query.sort_value(o.get(sort_by)))
            self._views[cache_key] = active
        return self._views[cache_key]

    def list_orders(self, listing: query.Listing) -> tuple[list[Record], int]:
        """One page of active orders matching `listing`, and the total number matching."""
        return query.cached_page(self._views, listing, self._sorted_orders)

    def list_products(self, listing: query.Listing) -> tuple[list[Record], int]:
        """One page of products matching `listing`, and the total."""
        rows = query.run(list(self.products.values()), listing, "productId")
        return listing.window(rows), len(rows)

    def list_customers(self, listing: query.Listing) -> tuple[list[Record], int]:
        """One page of customers matching `listing`, and the total."""
        rows = query.run(list(self.customers.values()), listing, "customerId")
        return listing.window(rows), len(rows)

    # -- scheduled merchant activity ---------------------------------------------------------------

    def advance(self) -> dict[str, Any]:
        """Apply the next batch of the merchant's later changes, stamped with `now()`.

        Edits, cancellations and voids apply in order; the batch's labels are made together at
        the end, as one ShipStation batch (one SHIP_NOTIFY per store).
        """
        if self._batches_applied >= len(self._batches):
            return {"batch": None, "applied": [], "remaining_batches": 0}
        number = self._batches_applied
        self._batches_applied += 1
        batch = self._batches[number]
        applied = [None if change["kind"] == "ship" else self._apply(change) for change in batch]
        ships = [n for n, change in enumerate(batch) if change["kind"] == "ship"]
        if ships:
            made = self.create_labels([(batch[n]["orderId"], batch[n].get("items")) for n in ships])
            for n, label in zip(ships, made, strict=True):
                applied[n] = self._report({**batch[n], "shipmentId": label["shipmentId"]}, label["orderId"])
        return {"batch": number + 1, "applied": applied,
                "remaining_batches": len(self._batches) - self._batches_applied}

    def _apply(self, change: Record) -> Record:
        if change["kind"] == "cancel":
            order_id = self.cancel_order(change["orderId"])["orderId"]
        elif change["kind"] == "void":
            answer = self.void_label(change["shipmentId"])
            order_id = self.shipments.get(change["shipmentId"])["orderId"]
            change = {**change, "approved": answer["approved"]}
        else:
            order_id = self.edit_line(change["orderId"], change["lineItemKey"], quantity=change.get("quantity"),
                                      unit_price=change.get("unitPrice"), tax_amount=change.get("taxAmount"))["orderId"]
        return self._report(change, order_id)

    def _report(self, change: Record, order_id: int) -> Record:
        order = self.orders[order_id]
        return {**change, "orderId": order_id, "orderStatus": order["orderStatus"], "orderTotal": order["orderTotal"],
                "modifyDate": ticks7(order["modifyDate"])}
