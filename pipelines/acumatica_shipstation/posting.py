"""The pair's posters: Acumatica sales orders -> ShipStation orders, labels -> Acumatica shipments,
their confirmation (per FULFIL_ON) and their freight cost. Each outcome lands in the sync ledger once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.acumatica.models import Customer, SalesOrder, StockItem
from connectors.common.errors import RecordError
from connectors.shipstation.shipments import Shipment as Label
from pipelines.acumatica_shipstation import mapping, shipments
from pipelines.acumatica_shipstation.mapping import HeldBack, OutboundConfig
from pipelines.acumatica_shipstation.shipments import InboundConfig, OrderRef, label_key
from pipelines.posting import Poster, PostItem, Target
from pipelines.posting.keys import record_id
from pipelines.sides.errors import MappingError
from state.ledger import Candidate, Entry, SyncLedger

ORDERS_FLOW = "acumatica_shipstation.orders"
SHIPMENTS_FLOW = "acumatica_shipstation.shipments"
CONFIRM_FLOW = "acumatica_shipstation.confirmations"
FREIGHT_FLOW = "acumatica_shipstation.freight"
ORDERS_TARGET, SHIPMENTS_TARGET = "shipstation", "acumatica"
NOT_OURS = "its order did not come from Acumatica through ml-connector"


class SalesOrderPoster(Poster):
    """Ready sales orders -> ShipStation `createorder(s)`; cancelled ones cancel; unready ones wait unsent."""

    flow = ORDERS_FLOW
    report_keys = ("order_number", "order_key")

    def __init__(self, target: Target, ledger: SyncLedger, cfg: OutboundConfig, items: dict[str, StockItem],
                 customers: dict[str, Customer], run_id: str, *, batch_size: int = 100) -> None:
        super().__init__(target, ledger, run_id, batch_size=batch_size)
        self.cfg, self.items, self.customers = cfg, items, customers
        self.not_ready: Counter[str] = Counter()
        self.held: list[dict[str, str]] = []

    def prepare(self, record: dict) -> PostItem | None:
        self.report.read += 1
        key = mapping.order_key(str(record.get("OrderType", "")), str(record.get("OrderNbr", "")))
        try:
            order = SalesOrder.from_raw(record)
        except RecordError as error:
            self.fail_unclaimed(key, key, str(record.get("OrderNbr", "")), record, str(error))
            return None
        if mapping.is_cancelled(order):
            return self._item(order, record, None, "cancel", "cancelled")
        if (why := mapping.not_ready(order, self.cfg)) is not None:
            self.not_ready[why] += 1
            return None
        try:
            body = mapping.shipstation_order(order, self.items, self.customers, self.cfg)
        except HeldBack as held:
            self._hold(order, record, str(held))
            return None
        except MappingError as error:
            self.fail_unclaimed(key, key, order.order_nbr, record, str(error), detail=self._detail(order))
            return None
        return self._item(order, record, body, "upsert", mapping.payload_hash(body))

    def _item(self, order: SalesOrder, record: dict, body: dict | None, desired: str, digest: str) -> PostItem:
        key = mapping.order_key(order.order_type, order.order_nbr)
        version = order.last_modified.isoformat() if order.last_modified else None
        cand = Candidate(key, key, digest, desired, version, self._detail(order))
        return PostItem(mapping.describe(order), order.order_nbr, order.date.date() if order.date else None, record,
                        body, cand, order)

    def _detail(self, order: SalesOrder) -> dict[str, Any]:
        warehouse = order.warehouse_id or next((line.warehouse_id for line in order.lines if line.warehouse_id), None)
        return {"order_number": order.order_nbr, "order_type": order.order_type, "customer_id": order.customer_id,
                "currency": order.currency_id, "warehouse_id": warehouse}

    def _hold(self, order: SalesOrder, record: dict, why: str) -> None:
        key = mapping.order_key(order.order_type, order.order_nbr)
        cand = Candidate(key, key, "", detail=self._detail(order))
        self.ledger.record_waiting(self.flow, self.target.name, cand, why, _json(record))
        self.report.waiting += 1
        self.held.append({"order_number": order.order_nbr, "order_key": key, "error": why})


@dataclass(frozen=True)
class LabelRecord:
    """A label as read from ShipStation: parsed (or None with `raw["_parse_error"]`) and its raw JSON."""

    label: Label | None
    raw: dict


class ShipmentPoster(Poster):
    """Labels -> Acumatica shipments; a voided label reverses its shipment."""

    flow = SHIPMENTS_FLOW
    report_keys = ("shipment_id", "order_number")

    def __init__(self, target: Target, ledger: SyncLedger, cfg: InboundConfig, run_id: str, *,
                 batch_size: int = 25) -> None:
        super().__init__(target, ledger, run_id, batch_size=batch_size)
        self.cfg = cfg
        self.orphans: list[dict[str, str]] = []

    def prepare(self, record: LabelRecord) -> PostItem | None:
        self.report.read += 1
        label, raw = record.label, record.raw
        source_id = record_id(raw, "shipmentId")
        if label is None:
            self.fail_unclaimed(source_id, f"ss-label-{source_id}", source_id, raw, raw.get("_parse_error", "?"))
            return None
        order = self.order_of(label)
        if order is None:
            self._orphan(label, raw)
            return None
        key, detail = label_key(label.shipment_id), self._detail(label)
        if label.voided:
            cand = Candidate(source_id, key, "voided", "cancel", None, detail, label.order_key)
            return PostItem(shipments.describe(label), source_id, label.ship_date, raw, None, cand, order)
        try:
            body = shipments.acumatica_shipment(label, order, self.cfg)
        except MappingError as error:
            self.fail_unclaimed(source_id, key, source_id, raw, str(error), detail=detail, group_key=label.order_key)
            return None
        cand = Candidate(source_id, key, mapping.payload_hash(body), "upsert", None, detail, label.order_key)
        return PostItem(shipments.describe(label), source_id, label.ship_date, raw, body, cand, order)

    def order_of(self, label: Label) -> OrderRef | None:
        """The Acumatica order a label ships, as the outbound flow recorded sending it."""
        entry = self.ledger.get(ORDERS_FLOW, label.order_key or "", ORDERS_TARGET)
        if entry is None or entry.target_id is None:
            return None
        detail = entry.detail
        return OrderRef(detail.get("order_type", mapping.DEFAULT_ORDER_TYPE), detail["order_number"],
                        detail.get("customer_id") or "", detail.get("warehouse_id") or "")

    def _detail(self, label: Label) -> dict[str, Any]:
        return {"order_number": label.order_number, "order_key": label.order_key, "order_id": label.order_id,
                "tracking": label.tracking_number,
                "carrier": label.carrier_code, "ship_date": label.ship_date.isoformat(),
                "cost": str(shipments.label_cost(label))}

    def _orphan(self, label: Label, raw: dict) -> None:
        cand = Candidate(str(label.shipment_id), label_key(label.shipment_id), "", detail=self._detail(label),
                         group_key=label.order_key)
        self.ledger.record_waiting(self.flow, self.target.name, cand, NOT_OURS, _json(raw))
        self.report.waiting += 1
        self.orphans.append({"shipment_id": str(label.shipment_id), "order_number": label.order_number or "",
                             "error": NOT_OURS})


@dataclass(frozen=True)
class PostedShipment:
    """A label whose Acumatica shipment the ledger records (for confirmation and freight passes)."""

    label_id: int
    shipment_nbr: str
    order_key: str | None
    order_number: str | None
    tracking: str | None
    carrier: str | None
    ship_date: date | None
    cost: Decimal | None
    voided: bool

    @classmethod
    def from_entry(cls, entry: Entry) -> PostedShipment:
        d = entry.detail
        day, cost = d.get("ship_date"), d.get("cost")
        return cls(int(entry.source_id), entry.target_id or "", d.get("order_key"), d.get("order_number"),
                   d.get("tracking"), d.get("carrier"), date.fromisoformat(day) if day else None,
                   Decimal(cost) if cost is not None else None, bool(entry.cancelled))

    def describe(self) -> str:
        return (f"ShipStation label {self.label_id} of order {self.order_number} "
                f"(Acumatica shipment {self.shipment_nbr})")


Scanned = Callable[[PostedShipment], bool | None]


class ConfirmPoster(Poster):
    """Confirms each posted shipment once its label counts as fulfilled (FULFIL_ON)."""

    flow = CONFIRM_FLOW
    report_keys = ("shipment_id", "order_number")

    def __init__(self, target: Target, ledger: SyncLedger, cfg: InboundConfig, scanned: Scanned, run_id: str) -> None:
        super().__init__(target, ledger, run_id, batch_size=25)
        self.cfg, self.scanned = cfg, scanned
        self.awaiting_scan = 0

    def prepare(self, posted: PostedShipment) -> PostItem | None:
        self.report.read += 1
        source_id, key = str(posted.label_id), f"ss-confirm-{posted.label_id}"
        detail = {"order_number": posted.order_number, "shipment_nbr": posted.shipment_nbr,
                  "policy": self.cfg.fulfil_on, "tracking": posted.tracking}
        if posted.voided:
            cand = Candidate(source_id, key, "voided", "cancel", None, detail, posted.order_key)
            return PostItem(posted.describe(), source_id, posted.ship_date, {}, None, cand, posted)
        scanned = None if self.cfg.fulfil_on == "label" else self.scanned(posted)
        if not shipments.confirm_now(self.cfg.fulfil_on, scanned):
            self.awaiting_scan += 1
            return None
        cand = Candidate(source_id, key, "confirmed", "upsert", None, detail | {"scanned": bool(scanned)},
                         posted.order_key)
        return PostItem(posted.describe(), source_id, posted.ship_date, {"shipmentId": posted.label_id},
                        {"ShipmentNbr": posted.shipment_nbr}, cand, posted)


class FreightPoster(Poster):
    """A day's label costs onto their shipments (`FreightCost`), in the books' currency, or flagged."""

    flow = FREIGHT_FLOW
    report_keys = ("shipment_id", "order_number")

    def __init__(self, target: Target, ledger: SyncLedger, cfg: InboundConfig, run_id: str) -> None:
        super().__init__(target, ledger, run_id, batch_size=50)
        self.cfg = cfg
        self.total = Decimal(0)

    def prepare(self, posted: PostedShipment) -> PostItem | None:
        self.report.read += 1
        source_id, key, day = str(posted.label_id), f"ss-freight-{posted.label_id}", posted.ship_date
        detail = {"order_number": posted.order_number, "shipment_nbr": posted.shipment_nbr, "day": day,
                  "postage": str(posted.cost), "postage_currency": self.cfg.postage_currency}
        if posted.voided:
            cand = Candidate(source_id, key, "voided", "cancel", None, detail, str(day))
            return PostItem(posted.describe(), source_id, day, {}, None, cand, posted)
        cost = shipments.freight(posted.cost or Decimal(0), self.cfg)
        if cost.amount is None:
            self.fail_unclaimed(source_id, key, source_id, {"shipmentId": posted.label_id},
                                f"{posted.describe()}: {cost.note}", detail=detail, group_key=str(day))
            return None
        self.total += cost.amount
        body = {"ShipmentNbr": posted.shipment_nbr, "FreightCost": cost.amount}
        cand = Candidate(source_id, key, str(cost.amount), "upsert", None, detail | {"note": cost.note}, str(day))
        return PostItem(posted.describe(), source_id, day, {"shipmentId": posted.label_id}, body, cand, posted)


def _json(record: dict) -> str:
    return json.dumps(record, default=str)
