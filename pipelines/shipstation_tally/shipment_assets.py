"""ShipStation shipments -> TallyPrime Delivery Notes: stage labels and voids, post notes, prove stock."""


from datetime import UTC, datetime

import dagster as dg

from pipelines.metadata import OPERATIONS
from pipelines.shipstation_tally import shipment_checks
from pipelines.shipstation_tally.assets import GROUP, STOCK_ITEMS
from pipelines.shipstation_tally.mapping import SkuResolver
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from pipelines.shipstation_tally.shipment_run import ShipmentSync
from pipelines.shipstation_tally.shipments import FLOW
from pipelines.sides.shipstation.labels import LabelsWindowConfig, label_pages, stage_label_pages
from pipelines.staged import staged_run
from pipelines.windows import parse_instant
from resources import ShipStationResource, StateResource, TallyResource
from state.audit_hook import AuditHook

SHIPMENTS = dg.AssetKey(["shipstation", "shipments"])
DELIVERY_NOTES = dg.AssetKey(["tally", "delivery_notes"])


@dg.asset(key=SHIPMENTS, group_name=GROUP, kinds={"shipstation", "duckdb"}, owners=[OPERATIONS])
def shipstation_shipments(context: dg.AssetExecutionContext, config: LabelsWindowConfig,
                          shipstation: ShipStationResource, state: StateResource,
                          flow: ShipStationTallySettings) -> dg.MaterializeResult:
    """Labels created in the window and labels voided in it (reference §6.3), with their items, staged in DuckDB."""
    now = datetime.now(UTC)
    with shipstation.client() as client:
        pages = label_pages(client, config, parse_instant(flow.sync_start), now)
        seq = stage_label_pages(state.staging(), context.run_id, pages, now)  # reads a page ahead itself
    return dg.MaterializeResult(metadata={"shipments_read": seq, "staged_run_id": context.run_id,
                                          "from_webhooks": len(config.resource_urls)})


@dg.asset(key=DELIVERY_NOTES, group_name=GROUP, kinds={"tally"}, owners=[OPERATIONS], pool="tally",
          deps=[SHIPMENTS, STOCK_ITEMS],
          check_specs=shipment_checks.DELIVERY_NOTE_CHECKS)
def tally_delivery_notes(context: dg.AssetExecutionContext, tally: TallyResource, shipstation: ShipStationResource,
                         state: StateResource, flow: ShipStationTallySettings) -> dg.MaterializeResult:
    """One Delivery Note per staged (or still waiting) shipment; a voided label cancels its note."""
    store, ledger = state.staging(), state.ledger()
    hook = AuditHook(ledger.audit, run_id=context.run_id, flow=FLOW)
    with shipstation.client() as client:
        sync = ShipmentSync(
            tally=tally.client(hook), shipstation=client, ledger=ledger, store=store,
            orders_cfg=flow.voucher_config(), notes_cfg=flow.delivery_note_config(),
            skus=SkuResolver.build(store.tally_stock_items(), flow.sku_map()), customer_group=flow.customer_group,
            run_id=context.run_id, batch_size=flow.batch_size, batch_ceiling=flow.batch_ceiling, audit=hook)
        result = sync.run(store.iter_staged_shipments(staged_run(context, SHIPMENTS)))
    return dg.MaterializeResult(
        metadata=shipment_checks.metadata(result),
        check_results=shipment_checks.results(result, ledger, store, staged_run(context, SHIPMENTS)),
    )



ASSETS = [shipstation_shipments, tally_delivery_notes]
