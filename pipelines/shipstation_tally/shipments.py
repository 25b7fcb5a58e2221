"""Posting ShipStation shipments to TallyPrime as Delivery Notes, exactly once.

A shipment waits (ledger state `waiting`, kept with its payload) while its order has no voucher in
Tally, and is tried again on every later run; a voided label cancels its Delivery Note. A shipment
that would push any order line past its ordered quantity is flagged and not posted: the quantities
already moved come from the ledger's live Delivery Notes of the same order (its `group_key`) plus
what this run has claimed. What every posted note moved per stock item is kept for the stock check.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from pydantic import ValidationError

from connectors.common.timezones import local_date
from connectors.shipstation.models import Order
from connectors.shipstation.shipments import Shipment
from pipelines.posting import Poster, PostItem
from pipelines.posting.keys import record_id
from pipelines.shipstation_tally import posting
from pipelines.shipstation_tally.delivery import (
    DeliveryNoteConfig,
    describe_shipment,
    note_number,
    over_shipment,
    quantities,
    shipment_key,
    shipment_to_delivery_note,
    shipped_lines,
)
from pipelines.shipstation_tally.mapping import customer_ledger_name, payload_hash
from pipelines.sides.errors import MappingError
from pipelines.sides.tally import TARGET
from pipelines.sides.tally.skus import SkuResolver
from pipelines.sides.tally.target import TallyTarget
from state.ledger import Candidate, SyncLedger

FLOW = "shipstation_tally.shipments"
OVER_SHIPMENT = "over-shipment"
LIVE = ("posted", "pending")

Record = tuple[Shipment | None, Order | None, dict]  # (parsed shipment or None, its order if known, raw shipment)


class DeliveryNotePoster(Poster):
    """Posts one Delivery Note per shipment; cancels it when the label is voided."""

    overlap = True  # prepare only maps and reads the ledger: Tally answers while the next batch is mapped

    flow = FLOW
    report_keys = ("shipment", "shipment_id")

    def __init__(self, target: TallyTarget, ledger: SyncLedger, cfg: DeliveryNoteConfig, skus: SkuResolver,
                 run_id: str, *, batch_size: int = 25, batch_ceiling: int | None = None) -> None:
        super().__init__(target, ledger, run_id, batch_size=batch_size, batch_ceiling=batch_ceiling)
        self.cfg, self.skus = cfg, skus
        self.moved: Counter[str] = Counter()  # stock item -> net quantity moved out by this run
        self.over_shipped: list[dict[str, str]] = []
        self._claimed: dict[str, dict[str, dict[str, int]]] = {}  # order id -> shipment id -> lines

    # --- preparing ------------------------------------------------------------------------------
    def prepare(self, record: Record) -> PostItem | None:
        shipment, order, raw = record
        self.report.read += 1
        sid, order_id = record_id(raw, "shipmentId"), str(raw.get("orderId", ""))
        label = f"shipment {sid} of order {raw.get('orderNumber', '')}"
        if shipment is None:
            return self._fail(sid, order_id, label, raw, raw.get("_parse_error", "record could not be parsed"))
        if shipment.is_return_label:
            return self._skip_unclaimed(shipment, "return label: stock comes back through a return, not a delivery")
        if not shipment.voided and not self._order_voucher_posted(order_id):
            return self._wait(shipment, raw, f"waiting for the voucher of order {shipment.order_number}")
        if order is None:
            if shipment.voided:  # its note (if any) is cancelled by MasterId: the order is not needed
                return self._void_item(shipment, None, raw, None, {})
            return self._fail(sid, order_id, label, raw, f"{label}: order {order_id} could not be read")
        try:
            voucher = shipment_to_delivery_note(shipment, order, customer_ledger_name(order), self.skus, self.cfg)
        except (MappingError, ValidationError) as exc:  # a model the mapping built refused it
            if shipment.voided:
                return self._void_item(shipment, order, raw, None, {})
            return self._fail(sid, order_id, label, raw, str(exc))
        lines = quantities(shipped_lines(shipment, order))
        if shipment.voided:
            return self._void_item(shipment, order, raw, voucher, lines)
        excess = over_shipment(order, self._already(order_id, sid), lines)
        if excess:
            error = f"{describe_shipment(shipment)}: {OVER_SHIPMENT}, not posted: " + "; ".join(map(str, excess))
            self.over_shipped.append({"shipment": sid, "order_number": order.order_number, "error": error})
            return self._fail(sid, order_id, label, raw, error)
        self._claimed.setdefault(order_id, {})[sid] = lines
        return self._item(shipment, order, raw, voucher, "upsert", payload_hash(voucher), lines)

    def _item(self, shipment: Shipment, order: Order | None, raw: dict, voucher: Any, desired: str, digest: str,
              lines: dict[str, int]) -> PostItem:
        day = voucher.date if voucher is not None else local_date(shipment.create_date, self.cfg.timezone)
        detail = {"shipment": shipment.shipment_id, "order_id": shipment.order_id,
                  "order_number": order.order_number if order else shipment.order_number, "date": day,
                  "lines": lines, "tracking_number": shipment.tracking_number}
        cand = Candidate(str(shipment.shipment_id), shipment_key(shipment.shipment_id), digest, desired,
                         (shipment.void_date or shipment.create_date).isoformat(), detail,
                         group_key=str(shipment.order_id))
        stock = voucher.inventory_entries if voucher is not None else []
        return PostItem(describe_shipment(shipment), note_number(shipment), day, raw,
                        voucher if desired == "upsert" else None, cand, stock)

    def _void_item(self, shipment: Shipment, order: Order | None, raw: dict, voucher: Any,
                   lines: dict[str, int]) -> PostItem:
        self._claimed.get(str(shipment.order_id), {}).pop(str(shipment.shipment_id), None)
        return self._item(shipment, order, raw, voucher, "cancel", "voided", lines)

    def _order_voucher_posted(self, order_id: str) -> bool:
        entry = self.ledger.get(posting.FLOW, order_id, TARGET)
        return entry is not None and entry.state == "posted" and entry.target_id is not None and not entry.cancelled

    def _already(self, order_id: str, shipment_id: str) -> dict[str, int]:
        """Quantities per order line moved by the order's other live shipments (ledger + this run)."""
        shipped: dict[str, dict[str, int]] = {}
        for entry in self.ledger.by_group(FLOW, TARGET, [order_id]):
            if entry.state in LIVE and not entry.cancelled and entry.detail.get("lines"):
                shipped[entry.source_id] = entry.detail["lines"]
        shipped.update(self._claimed.get(order_id, {}))
        shipped.pop(shipment_id, None)
        totals: Counter[str] = Counter()
        for lines in shipped.values():
            totals.update(lines)
        return dict(totals)

    def _wait(self, shipment: Shipment, raw: dict, reason: str) -> None:
        self.ledger.record_waiting(FLOW, TARGET, self._bare(shipment), reason, json.dumps(raw, default=str))
        self.report.waiting += 1

    def _skip_unclaimed(self, shipment: Shipment, reason: str) -> None:
        claims = self.ledger.claim(FLOW, TARGET, [self._bare(shipment, "cancel")], self.owner)
        self.ledger.record_skipped(FLOW, TARGET, [(c.source_id, reason) for c in claims if c.action != "busy"])
        self.report.skip(reason)

    @staticmethod
    def _bare(shipment: Shipment, desired: str = "upsert") -> Candidate:
        return Candidate(str(shipment.shipment_id), shipment_key(shipment.shipment_id), "", desired,
                         detail={"shipment": shipment.shipment_id, "order_number": shipment.order_number},
                         group_key=str(shipment.order_id))

    def _fail(self, sid: str, order_id: str, label: str, raw: dict, error: str) -> None:
        self.fail_unclaimed(sid, shipment_key(sid), label, raw, error, group_key=order_id or None)
        return None

    # --- hooks ----------------------------------------------------------------------------------
    def record_failure(self, item: PostItem, error: str) -> None:
        """A note Tally refused moved nothing: it no longer counts against its order's quantities."""
        self._claimed.get(str(item.candidate.group_key), {}).pop(item.candidate.source_id, None)
        super().record_failure(item, error)

    def on_posted(self, items: list[PostItem], action: str) -> None:
        sign = -1 if action == "cancel" else 1
        for item in items:
            if action == "alter":
                continue  # a re-sent note replaces its own lines; the stock check reads Tally for the net effect
            for entry in item.source or []:
                self.moved[entry.stock_item] += sign * entry.quantity
