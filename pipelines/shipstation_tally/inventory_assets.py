"""Tally closing stock -> ShipStation V2 inventory levels, only where they differ.

Every push goes through the sync ledger like any other write: a SKU another live run has claimed
(`busy`) or that the ledger says needs nothing (`skip`) is not pushed; a claim a dead run left
`pending` (`resolve`) is looked up in ShipStation first and only pushed if the level still differs.
Whatever stops the loop, no claim of this run is left `pending` (an `adjust` is absolute, so a
failed record is safely re-sent by the next run).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg

from connectors.common.errors import ConnectorError, RetryableError
from connectors.shipstation.v2 import ShipStationV2Client
from pipelines.metadata import OPERATIONS, failure_table
from pipelines.shipstation_tally.assets import GROUP, STOCK_ITEMS
from pipelines.shipstation_tally.inventory import InventoryPlan, LevelChange, plan_inventory
from pipelines.shipstation_tally.mapping import SkuResolver
from pipelines.shipstation_tally.master_assets import PRODUCTS
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from resources import ShipStationV2Resource, StateResource
from state.ledger import Candidate, Claim, SyncLedger, current_owner

INVENTORY = dg.AssetKey(["shipstation", "inventory_levels"])
FLOW = "tally_shipstation.inventory"
TARGET = "shipstation_v2"


@dataclass
class PushResult:
    pushed: list[LevelChange] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    resolved: int = 0


class InventoryPusher:
    """Pushes one plan's level changes to one location, every claim settled in the ledger."""

    def __init__(self, client: ShipStationV2Client, ledger: SyncLedger, location: str, owner: str) -> None:
        self.client, self.ledger, self.location, self.owner = client, ledger, location, owner
        self.result = PushResult()

    def candidate(self, sku: str, current: int | None, target: int) -> Candidate:
        return Candidate(sku, f"inventory:{self.location}:{sku}", f"{current}->{target}")

    def push(self, plan: InventoryPlan) -> PushResult:
        self.settle_matching(plan.matching)
        by_sku = {c.sku: c for c in plan.changes}
        claims = self.ledger.claim(FLOW, TARGET, [self.candidate(c.sku, c.current, c.target) for c in plan.changes],
                                   self.owner)
        todo = [(by_sku[c.source_id], c) for c in self.sort(claims)]
        open_ids = {change.sku for change, _ in todo}
        try:
            for change, claim in todo:
                self.push_one(change, claim)
                open_ids.discard(change.sku)
        except BaseException as exc:
            self.ledger.record_failed(FLOW, TARGET, [(sku, f"not pushed: the run stopped at {type(exc).__name__}: "
                                                           f"{exc}", None) for sku in sorted(open_ids)])
            raise
        return self.result

    def sort(self, claims: Sequence[Claim]) -> list[Claim]:
        """The claims this run may act on; busy and skipped ones are only counted."""
        todo = []
        for claim in claims:
            if claim.action == "busy":
                self.result.busy.append(claim.source_id)
            elif claim.action == "skip":
                self.result.skipped.append(claim.source_id)
            else:
                todo.append(claim)
        return todo

    def push_one(self, change: LevelChange, claim: Claim) -> None:
        digest = f"{change.current}->{change.target}"
        if claim.action == "resolve":
            self.result.resolved += 1
            if self.level(change.sku) == change.target:  # the dead run's adjust landed
                self.ledger.record_posted(FLOW, TARGET, [(change.sku, self.location, digest, False)])
                return
        try:
            self.client.adjust(change.sku, change.target, self.location, reason="Tally closing stock",
                               notes=f"ml-connector {datetime.now(UTC).isoformat()} {change.note}".strip())
        except ConnectorError as exc:  # a 429 past the budget, a 5xx or a timeout is retried by the next run
            self.ledger.record_failed(FLOW, TARGET, [(change.sku, str(exc), None)],
                                      transient=isinstance(exc, RetryableError))
            self.result.failed.append({"sku": change.sku, "error": str(exc)})
            return
        self.ledger.record_posted(FLOW, TARGET, [(change.sku, self.location, digest, False)])
        self.result.pushed.append(change)

    def level(self, sku: str) -> int | None:
        """ShipStation's on-hand for one SKU at this location, read now."""
        levels = self.client.iter_inventory(sku=sku, location_id=self.location)
        return next((lvl.on_hand for lvl in levels if lvl.sku == sku), None)

    def settle_matching(self, matching: dict[str, int]) -> None:
        """A claim a dead run left pending for a SKU whose level now matches Tally: it is done."""
        stale = [e.source_id for e in self.ledger.outcomes(FLOW, TARGET, list(matching)).values()
                 if e.state == "pending"]
        claims = self.ledger.claim(FLOW, TARGET, [self.candidate(s, matching[s], matching[s]) for s in stale],
                                   self.owner)
        done = [(c.source_id, self.location, f"{matching[c.source_id]}->{matching[c.source_id]}", False)
                for c in claims if c.action == "resolve"]
        self.ledger.record_posted(FLOW, TARGET, done)
        self.result.resolved += len(done)


@dg.asset(key=INVENTORY, group_name=GROUP, kinds={"shipstation"}, owners=[OPERATIONS], deps=[STOCK_ITEMS, PRODUCTS])
def shipstation_inventory_levels(context: dg.AssetExecutionContext, shipstation_v2: ShipStationV2Resource,
                                 state: StateResource, flow: ShipStationTallySettings) -> dg.MaterializeResult:
    """Sets ShipStation's on-hand per SKU to Tally's closing stock (adjust), where the two differ."""
    store, ledger = state.staging(), state.ledger()
    skus = SkuResolver.build(store.tally_stock_items(), flow.sku_map())
    products = [sku for sku, _, active in store.shipstation_products() if sku and active]
    with shipstation_v2.client() as client:
        location = shipstation_v2.location_id or first_location(client)
        on_hand = {lvl.sku: lvl.on_hand for lvl in client.iter_inventory(location_id=location)}
        plan = plan_inventory(products, skus, store.tally_closing_stock(), on_hand)
        result = InventoryPusher(client, ledger, location, current_owner(context.run_id)).push(plan)
    rows = [{"sku": c.sku, "stock_item": c.stock_item, "was": str(c.current), "now": str(c.target), "note": c.note}
            for c in result.pushed]
    return dg.MaterializeResult(metadata={
        "location": location, "skus": len(products), "pushed": len(result.pushed), "unchanged": plan.unchanged,
        "failed": len(result.failed), "in_flight_elsewhere": len(result.busy),
        "skipped_by_ledger": len(result.skipped), "resolved_after_crash": result.resolved,
        "skus_without_stock_item": len(plan.unmapped),
        "changes": failure_table(rows, ["sku", "stock_item", "was", "now", "note"]),
        "failures": failure_table(result.failed, ["sku", "error"]),
        "unmapped": ", ".join(plan.unmapped[:100]),
    })


def first_location(client: ShipStationV2Client) -> str:
    locations = client.list_inventory_locations()
    if not locations:
        raise ValueError("ShipStation has no V2 inventory location: create one in ShipStation or set "
                         "SHIPSTATION_INVENTORY_LOCATION_ID")
    return locations[0].inventory_location_id


ASSETS = [shipstation_inventory_levels]
