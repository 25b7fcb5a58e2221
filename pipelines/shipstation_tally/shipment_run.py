"""One run of the shipment flow: orders first where needed, then Delivery Notes, then the stock proof.

A shipment whose order has no voucher yet does not fail: its order is fetched (from the staged
snapshot, else from ShipStation by id), its customer ledger created and its voucher posted, all
before the Delivery Note; if the order still cannot be posted (its own failure says why), the
shipment waits in the ledger and is tried again by every later run. Closing stock is read from
Tally before and after, so the run can prove each shipped item fell by exactly what shipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from connectors.common.errors import NotFound
from connectors.shipstation.client import ShipStationClient
from connectors.tally.client import TallyClient
from pipelines.posting import PostingReport
from pipelines.shipstation_tally import posting
from pipelines.shipstation_tally.customers import CustomerLedgerCreator, staged_party
from pipelines.shipstation_tally.delivery import DeliveryNoteConfig
from pipelines.shipstation_tally.mapping import OrderVoucherConfig, SkuResolver
from pipelines.shipstation_tally.shipments import FLOW, DeliveryNotePoster
from pipelines.sides.shipstation.reading import parse_orders, parse_shipments
from pipelines.sides.tally import TARGET
from pipelines.sides.tally.target import TallyTarget
from state.audit_hook import AuditHook
from state.ledger import SyncLedger
from state.staging import StagingStore


@dataclass
class StockProof:
    """Closing quantity per stock item before and after the run, against what the run moved."""

    before: dict[str, Decimal]
    after: dict[str, Decimal] = field(default_factory=dict)
    moved: dict[str, Decimal] = field(default_factory=dict)

    def rows(self) -> list[dict[str, str]]:
        names = sorted({*self.moved, *(n for n in self.after if self.after.get(n) != self.before.get(n))})
        return [{"stock_item": n, "before": str(self.before.get(n)), "after": str(self.after.get(n)),
                 "shipped": str(self.moved.get(n, 0)), "fell_by": str(self._fell(n))} for n in names]

    def _fell(self, name: str) -> Decimal:
        return (self.before.get(name) or Decimal(0)) - (self.after.get(name) or Decimal(0))

    def mismatches(self) -> list[dict[str, str]]:
        return [row for row in self.rows() if self._fell(row["stock_item"]) != self.moved.get(row["stock_item"], 0)]


@dataclass
class ShipmentRunResult:
    notes: PostingReport
    orders: PostingReport
    over_shipped: list[dict[str, str]]
    stock: StockProof
    orders_synced_first: int = 0
    orders_not_found: list[str] = field(default_factory=list)


class ShipmentSync:
    """Posts the Delivery Notes of one run's staged shipments and of every shipment still waiting."""

    def __init__(self, *, tally: TallyClient, shipstation: ShipStationClient, ledger: SyncLedger,
                 store: StagingStore, orders_cfg: OrderVoucherConfig, notes_cfg: DeliveryNoteConfig,
                 skus: SkuResolver, customer_group: str, run_id: str, batch_size: int = 25,
                 batch_ceiling: int | None = None, audit: AuditHook | None = None) -> None:
        self.shipstation, self.ledger, self.store, self.run_id = shipstation, ledger, store, run_id
        known = {name for name, _ in store.tally_ledgers()}
        self.orders = posting.OrderVoucherPoster(TallyTarget(tally, orders_cfg.voucher_type, audit), ledger,
                                                 orders_cfg, skus, known, run_id, batch_size=batch_size,
                                                 batch_ceiling=batch_ceiling)
        self.customers = CustomerLedgerCreator(tally, ledger, customer_group, known, run_id, audit=audit)
        self.notes = DeliveryNotePoster(TallyTarget(tally, notes_cfg.voucher_type, audit), ledger, notes_cfg, skus,
                                        run_id, batch_size=batch_size, batch_ceiling=batch_ceiling)
        self.tally = tally
        self._seq, self._synced, self._gone = 0, 0, []

    def run(self, staged: Iterable[list[dict]]) -> ShipmentRunResult:
        proof = StockProof(before=self._closing())
        for chunk in self._with_waiting(staged):
            orders = self._orders_for(chunk)
            self._sync_orders_first(chunk, orders)
            records = list(parse_shipments(chunk, orders))
            # Voids first, in batches of their own: a cancelled note frees its quantities before a
            # replacement label of the same order is judged for over-shipment.
            self.notes.post(r for r in records if r[0] is not None and r[0].voided)
            self.notes.post(r for r in records if r[0] is None or not r[0].voided)
        proof.after, proof.moved = self._closing(), {k: Decimal(v) for k, v in self.notes.moved.items() if v}
        return ShipmentRunResult(self.notes.report, self.orders.report, self.notes.over_shipped, proof,
                                 self._synced, self._gone)

    def _with_waiting(self, staged: Iterable[list[dict]]) -> Iterator[list[dict]]:
        waiting = [json.loads(e.source_payload) for e in self.ledger.entries(FLOW, "waiting") if e.source_payload]
        if waiting:
            yield waiting
        yield from staged

    def _orders_for(self, chunk: list[dict]) -> dict[int, dict]:
        ids = sorted({int(s["orderId"]) for s in chunk if s.get("orderId") is not None})
        orders = self.store.orders_by_id(ids)
        missing = [i for i in ids if i not in orders or not self._posted(i)]
        fetched = self._fetch(missing)
        orders.update(fetched)
        return orders

    def _posted(self, order_id: int) -> bool:
        entry = self.ledger.get(posting.FLOW, str(order_id), TARGET)
        return entry is not None and entry.state == "posted"

    def _fetch(self, order_ids: list[int]) -> dict[int, dict]:
        """Orders read fresh from ShipStation by id (the staged copy may be older), staged for the record."""
        fetched: dict[int, dict] = {}
        for order_id in order_ids:
            try:
                fetched[order_id] = self.shipstation.get_order_raw(order_id)
            except NotFound:  # merged away or deleted (ShipStation reference §6.7): the shipment will wait
                self._gone.append(str(order_id))
        if fetched:
            rows = list(fetched.values())
            self._seq = self.store.stage_orders(f"{self.run_id}:orders-for-shipments", self._seq,
                                                datetime.now(UTC), rows, [None] * len(rows),
                                                [staged_party(r) for r in rows])
        return fetched

    def _sync_orders_first(self, chunk: list[dict], orders: dict[int, dict]) -> None:
        ids = {int(s["orderId"]) for s in chunk if s.get("orderId") is not None and not s.get("voided")}
        need = [orders[i] for i in sorted(ids) if i in orders and not self._posted(i)]
        if not need:
            return
        parsed = list(parse_orders(need))
        self.customers.ensure(order for order, _ in parsed if order is not None)
        self.orders.post(parsed)
        self._synced += len(need)

    def _closing(self) -> dict[str, Decimal]:
        return {item.name: item.closing_qty or Decimal(0) for item in self.tally.list_stock_items()}
