"""Labels of the simulated account: create (`createlabelfororder`, control plane, merchant changes) and void.

A mixin of `ShipStationState`. Rules where the reference is silent (listed in the package docstring):
labels are refused for cancelled, fill-provider and soft-deleted orders; every label and every void
moves its order's `modifyDate` to now; the first active label makes the order `shipped` with its
`shipDate`; voiding the last active label puts it back to `awaiting_shipment` without a `shipDate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sandbox.shipstation import labels, query
from sandbox.shipstation.errors import refused
from sandbox.shipstation.pacific import PACIFIC
from sandbox.shipstation.webhooks import ship_event

Record = dict[str, Any]
LABEL_STATUSES = frozenset({"awaiting_payment", "awaiting_shipment", "on_hold", "shipped"})
VOIDED = "Label voided successfully"  # the docs' example answer to `voidlabel`


class Shipping:
    """Label creation and voiding; order status follows the account's active labels."""

    def list_shipments(self, listing: query.Listing) -> tuple[list[Record], int]:
        """One page of labels matching `listing`, and the total (voided labels included)."""
        return self.shipments.list(listing)

    def create_labels(self, requests: Sequence[tuple[int, Any]], **options: Any) -> list[Record]:
        """Labels made in one action, one per `(orderId, items|None)`; all validated before any is made.

        `options` are `labels.build_shipment` keywords (`carrier_code`, `ship_date`, …). The action is
        one batch: SHIP_NOTIFY fires once per store, and several labels share a `batchNumber`.
        """
        picked = [(self._shippable(order_id), want) for order_id, want in requests]
        lines = [labels.pick_lines(order, want) for order, want in picked]
        now = self.now()
        batch = self.shipments.open_batch()
        number = str(batch) if len(picked) > 1 else None
        made = [self._label(order, rows, now, number, options) for (order, _), rows in zip(picked, lines, strict=True)]
        self.shipments.add(made, batch)
        for label in made:
            self._after_label(label, now)
        for store_id in dict.fromkeys(label["advancedOptions"]["storeId"] for label in made):
            self._emit(ship_event(store_id, batch))
        self._publish_imports()
        return made

    def create_label(self, order_id: int, items: Any = None, **options: Any) -> Record:
        """One label for `order_id`: every goods line in full, or `[{lineItemKey, quantity}]`."""
        return self.create_labels([(order_id, items)], **options)[0]

    def test_label(self, order_id: int, **options: Any) -> Record:
        """What `testLabel: true` answers: a label that is neither stored nor reported."""
        order = self._shippable(order_id)
        return self._label(order, labels.pick_lines(order, None), self.now(), None, options)

    def _shippable(self, order_id: int) -> Record:
        order = self.get_order(order_id)
        if not self.is_active(order_id):
            raise refused(f"[sandbox] Order {order_id} was deleted; labels cannot be created for it.")
        if order["orderStatus"] not in LABEL_STATUSES:
            raise refused(f"[sandbox] Order {order_id} is '{order['orderStatus']}'; labels cannot be created "
                          "for it.")
        return order

    def _label(self, order: Record, rows: list[Record], now: datetime, number: str | None,
               options: dict[str, Any]) -> Record:
        store = next((s for s in self.stores if s["storeId"] == (order.get("advancedOptions") or {}).get("storeId")),
                     {})
        options = {"ship_date": now.astimezone(PACIFIC).date(), **options}
        return labels.build_shipment(order, rows, shipment_id=self.shipments.next_id(), created=now,
                                     marketplace_notified=bool(store.get("marketplaceId")), batch_number=number,
                                     **options)

    def _after_label(self, label: Record, now: datetime) -> None:
        order = self.orders[label["orderId"]]
        changed = {**order, "modifyDate": now}
        if order["orderStatus"] != "shipped":
            changed.update(orderStatus="shipped", shipDate=label["shipDate"])
        self._note_import(order["orderStatus"], changed)
        self._store(changed)

    def void_label(self, shipment_id: int) -> Record:
        """`voidlabel`: `{"approved", "message"}`; a voided label is refused with `approved: false`."""
        label = self.shipments.get(shipment_id)
        if label.get("voided"):
            return {"approved": False, "message": f"[sandbox] Label {shipment_id} has already been voided."}
        now = self.now()
        self.shipments.replace(labels.voided(label, now))
        order = self.orders.get(label["orderId"])
        if order is not None:
            changed = {**order, "modifyDate": now}
            if order["orderStatus"] == "shipped" and not self.shipments.has_active(order["orderId"]):
                changed["orderStatus"] = "awaiting_shipment"
                changed.pop("shipDate", None)
            self._store(changed)
        return {"approved": True, "message": VOIDED}
