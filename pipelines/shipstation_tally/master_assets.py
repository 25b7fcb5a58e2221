"""Master data alignment: snapshot ShipStation products and customers, create what Tally lacks, report the rest."""


from datetime import UTC, datetime

import dagster as dg

from pipelines.metadata import FINANCE, OPERATIONS, failure_table
from pipelines.shipstation_tally.assets import GROUP, LEDGERS, STOCK_ITEMS
from pipelines.shipstation_tally.customers import CustomerLedgerCreator
from pipelines.shipstation_tally.mapping import SkuResolver
from pipelines.shipstation_tally.masters import STOCK_ITEM_FLOW, StockItemCreator, align
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from pipelines.staged import local_key
from resources import ShipStationResource, StateResource, TallyResource
from state.audit_hook import AuditHook

PRODUCTS = dg.AssetKey(["shipstation", "products"])
CUSTOMERS = dg.AssetKey(["shipstation", "customers"])
ALIGNMENT = dg.AssetKey(["tally", "master_alignment"])
EVERY_SKU_HAS_ITEM = "every_sku_has_stock_item"
EVERY_CUSTOMER_HAS_LEDGER = "every_customer_has_ledger"


@dg.multi_asset(specs=[dg.AssetSpec(PRODUCTS, group_name=GROUP, kinds={"shipstation", "duckdb"}, owners=[OPERATIONS]),
                       dg.AssetSpec(CUSTOMERS, group_name=GROUP, kinds={"shipstation", "duckdb"}, owners=[OPERATIONS])])
def shipstation_masters(context: dg.AssetExecutionContext, shipstation: ShipStationResource, state: StateResource):
    """Snapshots of every ShipStation product (inactive ones included) and customer, staged in DuckDB."""
    store, now = state.staging(), datetime.now(UTC)
    with shipstation.client() as client:
        products = [p for page in client.iter_pages_raw("/products", "products", {"showInactive": True})
                    for p in page]
        store.replace_shipstation_products(now, products)
        yield dg.MaterializeResult(asset_key=local_key(context, PRODUCTS), metadata={"products": len(products)})
        customers = [c for page in client.iter_pages_raw("/customers", "customers") for c in page]
        store.replace_shipstation_customers(now, customers)
        yield dg.MaterializeResult(asset_key=local_key(context, CUSTOMERS), metadata={"customers": len(customers)})


@dg.asset(key=ALIGNMENT, group_name=GROUP, kinds={"tally"}, owners=[FINANCE], pool="tally",
          deps=[PRODUCTS, CUSTOMERS, LEDGERS, STOCK_ITEMS], check_specs=[
              dg.AssetCheckSpec(EVERY_SKU_HAS_ITEM, asset=ALIGNMENT,
                                description="Every active ShipStation SKU resolves to a Tally stock item."),
              dg.AssetCheckSpec(EVERY_CUSTOMER_HAS_LEDGER, asset=ALIGNMENT,
                                description="Every ShipStation customer has its party ledger in Tally.")])
def tally_master_alignment(context: dg.AssetExecutionContext, tally: TallyResource, state: StateResource,
                           flow: ShipStationTallySettings) -> dg.MaterializeResult:
    """Creates missing customer ledgers (and, if opted in, stock items); reports what is still missing."""
    store, ledger = state.staging(), state.ledger()
    skus = SkuResolver.build(store.tally_stock_items(), flow.sku_map())
    known = {name for name, _ in store.tally_ledgers()}
    found = align(store.shipstation_products(), store.shipstation_customers(), skus, known)
    hook = AuditHook(ledger.audit, run_id=context.run_id, flow="shipstation_tally.masters")
    client, now = tally.client(hook), datetime.now(UTC)
    ledgers = CustomerLedgerCreator(client, ledger, flow.customer_group, known, context.run_id, audit=hook)
    ledgers.create(found.customers_without_ledger)
    store.add_tally_ledgers(now, sorted(ledgers.created_names))
    items = StockItemCreator(client, ledger, flow.stock_item_unit, flow.stock_item_group, context.run_id, audit=hook)
    if flow.create_missing_stock_items:
        items.create(found.skus_without_item)
        store.add_tally_stock_items(now, [(sku, flow.stock_item_unit, flow.stock_item_group or None)
                                          for sku in items.report.created])
    created = set(items.report.created)
    still_missing = [{"sku": sku, "product": name or ""} for sku, name in found.skus_without_item if sku not in created]
    no_ledger = [{"ledger": name, "customer": who, "error": next((f["error"] for f in ledgers.report.failures
                                                                  if f["ledger"] == name), "")}
                 for name, _, who in found.customers_without_ledger if name not in known]
    return dg.MaterializeResult(
        metadata={"skus_without_stock_item": len(found.skus_without_item), "stock_items_created": len(created),
                  "create_missing_stock_items": flow.create_missing_stock_items,
                  "customers_without_ledger": len(found.customers_without_ledger),
                  "ledgers_created": len(ledgers.created_names),
                  "missing_stock_items": failure_table(still_missing, ["sku", "product"]),
                  "missing_ledgers": failure_table(no_ledger, ["ledger", "customer", "error"]),
                  "stock_item_failures": failure_table(items.report.failures, ["sku", "error"]),
                  "stock_item_flow": STOCK_ITEM_FLOW},
        check_results=[
            dg.AssetCheckResult(check_name=EVERY_SKU_HAS_ITEM, passed=not still_missing,
                                severity=dg.AssetCheckSeverity.WARN, metadata={"missing": len(still_missing)}),
            dg.AssetCheckResult(check_name=EVERY_CUSTOMER_HAS_LEDGER, passed=not no_ledger,
                                metadata={"missing": len(no_ledger)}),
        ])


ASSETS = [shipstation_masters, tally_master_alignment]
