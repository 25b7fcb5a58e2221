"""In-memory ShipStation account: orders, products, customers, stores, warehouses.

Records are plain dicts with aware UTC datetimes and `Decimal` money. Orders are never mutated in
place: every change stores a new dict, so a loaded `Merchant` is shared, not copied, and stays
intact. Sorted views and filtered results are cached per `version` and dropped on any change.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox.shipstation import payload, query, records
from sandbox.shipstation.errors import ApiError, invalid, not_found, refused
from sandbox.shipstation.pacific import ticks7

Record = dict[str, Any]
_QUERY_CACHE_SIZE = 64
_FREEZE_AT = 20_000


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ShipStationState:
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

    # -- loading ---------------------------------------------------------------------------------

    @classmethod
    def from_merchant(cls, merchant: Any, *, now: Callable[[], datetime] | None = None) -> ShipStationState:
        """An account holding a generated `sandbox.merchant.Merchant` (shared, never mutated)."""
        state = cls(now=now, stores=getattr(merchant, "stores", None),
                    warehouses=getattr(merchant, "warehouses", None))
        state.load(products=merchant.products, customers=merchant.customers, orders=merchant.orders,
                   later_changes=getattr(merchant, "later_changes", ()))
        return state

    def load(
        self, *, products: Iterable[Record] = (), customers: Iterable[Record] = (),
        orders: Iterable[Record] = (), later_changes: Iterable[list[Record]] = (),
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
        self._batches.extend(list(batch) for batch in later_changes)
        self._bump_ids()
        self._touch()
        if len(self.orders) >= _FREEZE_AT:
            # A big, long-lived account: move it out of the cyclic GC's reach, or every full
            # collection re-walks millions of dicts and serving 100k orders slows down ~2x.
            # Refcounting still frees the records when the state goes away.
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
        cache_key = ("query", listing.key)
        rows = self._views.get(cache_key)
        if rows is None:
            rows = [o for o in self._sorted_orders(listing.sort_by) if listing.matches(o)]
            if listing.descending:
                rows.reverse()
            if len(self._views) > _QUERY_CACHE_SIZE:
                self._views = {k: v for k, v in self._views.items() if k[0] == "sorted"}
            self._views[cache_key] = rows
        return listing.window(rows), len(rows)

    def list_products(self, listing: query.Listing) -> tuple[list[Record], int]:
        """One page of products matching `listing`, and the total."""
        rows = query.run(list(self.products.values()), listing, "productId")
        return listing.window(rows), len(rows)

    def list_customers(self, listing: query.Listing) -> tuple[list[Record], int]:
        """One page of customers matching `listing`, and the total."""
        rows = query.run(list(self.customers.values()), listing, "customerId")
        return listing.window(rows), len(rows)

    # -- writes ----------------------------------------------------------------------------------

    def upsert_order(self, body: Any, prefix: str = "apiOrder") -> Record:
        """`createorder`: new order unless `orderKey` is known, then full replacement (§2.3)."""
        draft = payload.parse_order(body, prefix)
        existing = self._by_key.get(draft["orderKey"]) if draft["orderKey"] else None
        now = self.now()
        if existing is None:
            order = self._create(draft, now, prefix)
        else:
            order = self._replace(self.orders[existing], draft, now)
        self.orders[order["orderId"]] = order
        self._by_key[order["orderKey"]] = order["orderId"]
        self._touch()
        return order

    def upsert_orders(self, body: Any) -> dict[str, Any]:
        """`createorders`: per-row outcome; a failed row does not stop the others."""
        results = []
        for n, row in enumerate(payload.parse_batch(body)):
            try:
                order = self.upsert_order(row, f"apiOrders[{n}]")
                results.append({"orderId": order["orderId"], "orderNumber": order["orderNumber"],
                                "orderKey": order["orderKey"], "success": True, "errorMessage": None})
            except ApiError as exc:
                row = row if isinstance(row, dict) else {}
                results.append({"orderId": 0, "orderNumber": row.get("orderNumber"),
                                "orderKey": row.get("orderKey"), "success": False, "errorMessage": _why(exc)})
        return {"hasErrors": not all(r["success"] for r in results), "results": results}

    def _create(self, draft: Record, now: datetime, prefix: str) -> Record:
        store = self._store_for(draft["advancedOptions"].get("storeId"), prefix)
        order_id = self._take("order")
        order = self._assemble(draft, [], now)
        order.update(orderId=order_id, orderKey=draft["orderKey"] or str(uuid.uuid4()), createDate=now,
                     customerId=self._customer_for(draft, store, now))
        order["advancedOptions"] = {
            "warehouseId": self.warehouses[0]["warehouseId"], **draft["advancedOptions"],
            "storeId": store["storeId"],
        }
        return records.compact(order)

    def _replace(self, prior: Record, draft: Record, now: datetime) -> Record:
        _require_open(prior)
        store = self._store_for(prior.get("advancedOptions", {}).get("storeId"), "apiOrder")
        order = self._assemble(draft, prior.get("items", []), now)
        order.update(orderId=prior["orderId"], orderKey=prior["orderKey"], createDate=prior["createDate"],
                     customerId=self._customer_for(draft, store, now))
        # storeId is set only at creation (§2.2); the rest of advancedOptions is replaced.
        order["advancedOptions"] = {
            "warehouseId": prior.get("advancedOptions", {}).get("warehouseId"),
            **draft["advancedOptions"], "storeId": store["storeId"],
        }
        return records.compact(order)

    def _assemble(self, draft: Record, previous: list[Record], now: datetime) -> Record:
        items = records.build_items(
            draft["items"], previous, now, next_id=lambda: self._take("item"),
            product_id=lambda sku: self._sku_to_product.get(sku or ""),
        )
        total = records.order_total(items, draft["shippingAmount"], draft["taxAmount"])
        return {**draft, "items": items, "orderTotal": total, "modifyDate": now}

    def _store_for(self, store_id: Any, prefix: str) -> Record:
        if store_id is None:
            manual = [s for s in self.stores if s.get("marketplaceId") == 0]
            return (manual or self.stores)[0]
        for store in self.stores:
            if store["storeId"] == store_id:
                return store
        raise invalid(f"{prefix}.advancedOptions.storeId", f"Store {store_id} was not found.")

    def _customer_for(self, draft: Record, store: Record, now: datetime) -> int | None:
        username = draft.get("customerUsername")
        if not username:
            return None
        if username not in self._username_to_customer:
            customer = records.implicit_customer(self._take("customer"), draft, store, now)
            self.customers[customer["customerId"]] = customer
            self._username_to_customer[username] = customer["customerId"]
        return self._username_to_customer[username]

    def edit_line(
        self, order_id: int, line_item_key: str, *, quantity: int | None = None,
        unit_price: Decimal | None = None, tax_amount: Decimal | None = None,
    ) -> Record:
        """Change one line's quantity/price (and optionally the header tax); totals recomputed."""
        prior = self.get_order(order_id)
        _require_open(prior)
        now = self.now()
        items = [dict(line) for line in prior["items"]]
        line = next((x for x in items if x.get("lineItemKey") == line_item_key), None)
        if line is None:
            raise not_found(f"Line {line_item_key!r} of order", order_id)
        line.update(quantity=line["quantity"] if quantity is None else quantity, modifyDate=now,
                    unitPrice=line["unitPrice"] if unit_price is None else unit_price)
        tax = prior.get("taxAmount", records.ZERO) if tax_amount is None else tax_amount
        total = records.order_total(items, prior.get("shippingAmount", records.ZERO), tax)
        return self._store({**prior, "items": items, "taxAmount": tax, "orderTotal": total, "modifyDate": now})

    def cancel_order(self, order_id: int) -> Record:
        """Move an open order to `cancelled` (as the merchant would in the UI)."""
        prior = self.get_order(order_id)
        _require_open(prior)
        return self._store({**prior, "orderStatus": "cancelled", "modifyDate": self.now()})

    def delete_order(self, order_id: int) -> None:
        """Soft delete: the order stays stored but leaves every list (§2.1)."""
        self.get_order(order_id)
        self._inactive.add(order_id)
        self._touch()

    def _store(self, order: Record) -> Record:
        self.orders[order["orderId"]] = order
        self._touch()
        return order

    # -- scheduled merchant activity ---------------------------------------------------------------

    def advance(self) -> dict[str, Any]:
        """Apply the next batch of the merchant's later changes, stamped with `now()`."""
        if self._batches_applied >= len(self._batches):
            return {"batch": None, "applied": [], "remaining_batches": 0}
        number = self._batches_applied
        self._batches_applied += 1
        applied = [self._apply(change) for change in self._batches[number]]
        return {"batch": number + 1, "applied": applied,
                "remaining_batches": len(self._batches) - self._batches_applied}

    def _apply(self, change: Record) -> Record:
        if change["kind"] == "cancel":
            order = self.cancel_order(change["orderId"])
        else:
            order = self.edit_line(change["orderId"], change["lineItemKey"], quantity=change.get("quantity"),
                                   unit_price=change.get("unitPrice"), tax_amount=change.get("taxAmount"))
        return {**change, "orderStatus": order["orderStatus"], "orderTotal": order["orderTotal"],
                "modifyDate": ticks7(order["modifyDate"])}


def _require_open(order: Record) -> None:
    status = order.get("orderStatus")
    if status not in records.OPEN_STATUSES:
        raise refused(f"Order {order['orderId']} is '{status}' and cannot be updated; only "
                      "awaiting_payment, awaiting_shipment and on_hold orders can be modified.")


def _why(error: ApiError) -> str:
    state = error.body.get("ModelState")
    if isinstance(state, dict):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in state.items())
    return str(error.body.get("Message"))
