"""Order writes of the simulated account: `createorder(s)`, merchant edits, store imports (§2.3).

A mixin of `ShipStationState` (which owns the attributes used here). Every public write ends by
publishing the ORDER_NOTIFY events it caused (`_publish_imports`), one per store per action (§4).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.shipstation import payload, records
from sandbox.shipstation.errors import ApiError, invalid, not_found, refused
from sandbox.shipstation.webhooks import order_event

Record = dict[str, Any]


class OrderWrites:
    """`createorder`, `createorders`, edits, cancellations, soft deletes and store imports."""

    orders: dict[int, Record]

    def upsert_order(self, body: Any, prefix: str = "apiOrder") -> Record:
        """`createorder`: new order unless `orderKey` is known, then full replacement (§2.3)."""
        order = self._upsert(body, prefix)
        self._publish_imports()
        return order

    def upsert_orders(self, body: Any) -> dict[str, Any]:
        """`createorders`: per-row outcome; a failed row does not stop the others."""
        results = []
        for n, row in enumerate(payload.parse_batch(body)):
            try:
                order = self._upsert(row, f"apiOrders[{n}]")
                results.append({"orderId": order["orderId"], "orderNumber": order["orderNumber"],
                                "orderKey": order["orderKey"], "success": True, "errorMessage": None})
            except ApiError as exc:
                row = row if isinstance(row, dict) else {}
                results.append({"orderId": 0, "orderNumber": row.get("orderNumber"),
                                "orderKey": row.get("orderKey"), "success": False, "errorMessage": _why(exc)})
        self._publish_imports()
        return {"hasErrors": not all(r["success"] for r in results), "results": results}

    def _upsert(self, body: Any, prefix: str) -> Record:
        draft = payload.parse_order(body, prefix)
        existing = self._by_key.get(draft["orderKey"]) if draft["orderKey"] else None
        now = self.now()
        if existing is None:
            prior_status, order = None, self._create(draft, now, prefix)
        else:
            prior = self.orders[existing]
            prior_status, order = prior["orderStatus"], self._replace(prior, draft, now)
        self.orders[order["orderId"]] = order
        self._by_key[order["orderKey"]] = order["orderId"]
        self._note_import(prior_status, order)
        self._touch()
        return order

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

    # -- store imports and ORDER_NOTIFY ---------------------------------------------------------------

    def import_orders(self, count: int, store_id: int | None = None) -> list[Record]:
        """A store import of `count` new orders from the loaded merchant's catalog and customers.

        Status `awaiting_shipment`, createDate = modifyDate = now; one ORDER_NOTIFY for the import.
        """
        if self._catalog is None:
            raise refused("[sandbox] Importing orders needs an account loaded from a generated merchant.")
        if not 1 <= count <= 1000:
            raise invalid("count", "[sandbox] count must be between 1 and 1000.")
        store = self._import_store(store_id)
        now = self.now()
        drafts = self._catalog.new_orders(self._import_rng, count, now=now, existing=self.orders.values(),
                                          store_id=store["storeId"])
        imported = [self._imported(draft, now) for draft in drafts]
        self._touch()
        self._publish_imports()
        return imported

    def _import_store(self, store_id: int | None) -> Record:
        if store_id is not None:
            return self._store_for(store_id, "import")
        shops = [s for s in self.stores if s.get("marketplaceId")]
        return (shops or self.stores)[0]

    def _imported(self, draft: Record, now: datetime) -> Record:
        items = [{**line, "orderItemId": self._take("item"), "createDate": now, "modifyDate": now}
                 for line in draft["items"]]
        order = {**draft, "orderId": self._take("order"), "items": items, "createDate": now, "modifyDate": now}
        self.orders[order["orderId"]] = order
        self._by_key[order["orderKey"]] = order["orderId"]
        self._note_import(None, order)
        return order

    def _note_import(self, prior_status: str | None, order: Record) -> None:
        # §4: a new order in any status but awaiting_payment, or one leaving awaiting_payment for
        # anything but cancelled, is reported; edits and other status changes are not.
        status = order["orderStatus"]
        if prior_status is None:
            fires = status != "awaiting_payment"
        else:
            fires = prior_status == "awaiting_payment" and status not in ("awaiting_payment", "cancelled")
        if fires:
            store_id = (order.get("advancedOptions") or {}).get("storeId")
            self._pending_imports.setdefault(store_id, []).append(order["orderId"])

    def _publish_imports(self) -> None:
        pending, self._pending_imports = self._pending_imports, {}
        for store_id, order_ids in pending.items():
            batch = str(uuid.uuid4())
            self._import_batches[batch] = frozenset(order_ids)
            self._emit(order_event(store_id, batch))

    def import_batch(self, batch: str) -> frozenset[int]:
        """orderIds reported under one ORDER_NOTIFY `importBatch` (empty if unknown)."""
        return self._import_batches.get(batch, frozenset())


def _require_open(order: Record) -> None:
    status = order.get("orderStatus")
    if status not in records.OPEN_STATUSES:
        raise refused(f"[sandbox] Order {order['orderId']} is '{status}' and cannot be updated; only "
                      "awaiting_payment, awaiting_shipment and on_hold orders can be modified.")


def _why(error: ApiError) -> str:
    state = error.body.get("ModelState")
    if isinstance(state, dict):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in state.items())
    return str(error.body.get("Message"))
