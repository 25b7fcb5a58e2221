"""Tally closing stock -> ShipStation V2 inventory levels, only where they differ."""


from datetime import UTC, datetime

import dagster as dg

from connectors.common.errors import ConnectorError
from connectors.shipstation.v2 import ShipStationV2Client
from pipelines.shipstation_tally.assets import STOCK_ITEMS
from pipelines.shipstation_tally.checks import failure_table
from pipelines.shipstation_tally.inventory import plan_inventory
from pipelines.shipstation_tally.mapping import SkuResolver
from pipelines.shipstation_tally.master_assets import PRODUCTS
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from resources import ShipStationV2Resource, StateResource
from state.ledger import Candidate, current_owner

GROUP = "inventory"
INVENTORY = dg.AssetKey(["shipstation", "inventory_levels"])
FLOW = "tally_shipstation.inventory"
TARGET = "shipstation_v2"


@dg.asset(key=INVENTORY, group_name=GROUP, kinds={"shipstation"}, deps=[STOCK_ITEMS, PRODUCTS])
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
        cands = [Candidate(c.sku, f"inventory:{location}:{c.sku}", f"{c.current}->{c.target}") for c in plan.changes]
        ledger.claim(FLOW, TARGET, cands, current_owner(context.run_id))
        pushed, failed = [], []
        for change in plan.changes:
            try:
                client.adjust(change.sku, change.target, location, reason="Tally closing stock",
                              notes=f"ml-connector {datetime.now(UTC).isoformat()} {change.note}".strip())
                pushed.append(change)
            except ConnectorError as exc:
                failed.append({"sku": change.sku, "error": str(exc)})
    ledger.record_posted(FLOW, TARGET, [(c.sku, location, f"{c.current}->{c.target}", False) for c in pushed])
    ledger.record_failed(FLOW, TARGET, [(f["sku"], f["error"], None) for f in failed])
    rows = [{"sku": c.sku, "stock_item": c.stock_item, "was": str(c.current), "now": str(c.target), "note": c.note}
            for c in pushed]
    return dg.MaterializeResult(metadata={
        "location": location, "skus": len(products), "pushed": len(pushed), "unchanged": plan.unchanged,
        "failed": len(failed), "skus_without_stock_item": len(plan.unmapped),
        "changes": failure_table(rows, ["sku", "stock_item", "was", "now", "note"]),
        "failures": failure_table(failed, ["sku", "error"]),
        "unmapped": ", ".join(plan.unmapped[:100]),
    })


def first_location(client: ShipStationV2Client) -> str:
    locations = client.list_inventory_locations()
    if not locations:
        raise ValueError("ShipStation has no V2 inventory location: create one in ShipStation or set "
                         "SHIPSTATION_INVENTORY_LOCATION_ID")
    return locations[0].inventory_location_id


ASSETS = [shipstation_inventory_levels]
