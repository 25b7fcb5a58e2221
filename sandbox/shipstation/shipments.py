"""The account's shipments (labels): storage, per-order index, creation batches, cached listings.

Records are never mutated: a void stores a new dict, so a loaded `Merchant` stays intact. A
"batch" here is ShipStation's unit of label creation that SHIP_NOTIFY's `batchId` names (§4):
one per API call or control action. Loaded (generated) labels belong to no batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sandbox.shipstation import query
from sandbox.shipstation.errors import not_found

Record = dict[str, Any]


class ShipmentBook:
    """Every label of one account, in the order they were stored."""

    def __init__(self) -> None:
        self.records: dict[int, Record] = {}
        self._by_order: dict[int, list[int]] = {}
        self._batches: dict[int, frozenset[int]] = {}
        self._next_id = 260_000_001
        self._next_batch = 18_800_001
        self._views: dict[Any, list[Record]] = {}

    def load(self, shipments: Iterable[Record]) -> None:
        """Add existing labels (ids kept), oldest first."""
        for label in sorted(shipments, key=lambda s: (s["createDate"], s["shipmentId"])):
            self._put(label)
            self._next_id = max(self._next_id, label["shipmentId"] + 1)

    def __len__(self) -> int:
        return len(self.records)

    def get(self, shipment_id: int) -> Record:
        """The stored label; 404 if unknown."""
        if shipment_id not in self.records:
            raise not_found("Shipment", shipment_id)
        return self.records[shipment_id]

    def for_order(self, order_id: int) -> list[Record]:
        """Every label of one order (voided ones included), oldest first."""
        return [self.records[n] for n in self._by_order.get(order_id, ())]

    def has_active(self, order_id: int) -> bool:
        """True while the order keeps at least one label that is not voided."""
        return any(not label.get("voided") for label in self.for_order(order_id))

    def next_id(self) -> int:
        """A fresh shipmentId."""
        value = self._next_id
        self._next_id += 1
        return value

    def open_batch(self) -> int:
        """A fresh batch id (SHIP_NOTIFY's `batchId`) for the labels of one action."""
        batch = self._next_batch
        self._next_batch += 1
        return batch

    def add(self, labels: list[Record], batch: int) -> None:
        """Store labels made in one action under `batch`."""
        for label in labels:
            self._put(label)
        self._batches[batch] = frozenset(label["shipmentId"] for label in labels)

    def batch(self, batch_id: int) -> frozenset[int]:
        """shipmentIds created in one batch (empty if unknown)."""
        return self._batches.get(batch_id, frozenset())

    def replace(self, label: Record) -> None:
        """Store a changed version of an existing label (e.g. voided)."""
        self.records[label["shipmentId"]] = label
        self._views.clear()

    def _put(self, label: Record) -> None:
        self.records[label["shipmentId"]] = label
        self._by_order.setdefault(label["orderId"], []).append(label["shipmentId"])
        self._views.clear()

    def _sorted(self, sort_by: str | None) -> list[Record]:
        cache_key = ("sorted", sort_by)
        if cache_key not in self._views:
            rows = sorted(self.records.values(), key=lambda s: (s["createDate"], s["shipmentId"]))
            if sort_by not in (None, "createDate"):
                rows.sort(key=lambda s: query.sort_value(s.get(sort_by)))  # stable: ties stay by createDate
            self._views[cache_key] = rows
        return self._views[cache_key]

    def list(self, listing: query.Listing) -> tuple[list[Record], int]:
        """One page of labels matching `listing` (default: ascending createDate), and the total."""
        return query.cached_page(self._views, listing, self._sorted)
