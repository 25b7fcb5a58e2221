"""ShipStation -> TallyPrime assets: stage orders, snapshot masters, create ledgers, post vouchers."""


from datetime import UTC, datetime

import dagster as dg

from connectors.common.prefetch import Prefetch
from pipelines.metadata import FINANCE, OPERATIONS
from pipelines.posting.ahead import prepared_ahead
from pipelines.posting.memory import give_back_freed_memory
from pipelines.shipstation_tally import checks
from pipelines.shipstation_tally.customers import CustomerLedgerCreator, staged_party
from pipelines.shipstation_tally.mapping import SkuResolver
from pipelines.shipstation_tally.posting import FLOW, TARGET, OrderVoucherPoster, prepare_texts
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from pipelines.shipstation_tally.window import parse_instant, resolve_window
from pipelines.sides.shipstation import reading
from pipelines.sides.shipstation.config import OrdersWindowConfig
from pipelines.sides.tally.target import TallyTarget
from pipelines.staged import local_key, staged_run
from resources import ShipStationResource, StateResource, TallyResource
from state.audit_hook import AuditHook

GROUP = "shipstation_tally"  # every asset of the pair: one group per system pair in the UI
ORDERS = dg.AssetKey(["shipstation", "orders"])
LEDGERS = dg.AssetKey(["tally", "ledgers"])
STOCK_ITEMS = dg.AssetKey(["tally", "stock_items"])
CUSTOMER_LEDGERS = dg.AssetKey(["tally", "customer_ledgers"])
ORDER_VOUCHERS = dg.AssetKey(["tally", "order_vouchers"])
BLOCK = 250  # staged orders a helper process maps at a time (`prepared_ahead`)


@dg.asset(key=ORDERS, group_name=GROUP, kinds={"shipstation", "duckdb"}, owners=[OPERATIONS])
def shipstation_orders(context: dg.AssetExecutionContext, config: OrdersWindowConfig, shipstation: ShipStationResource,
                       state: StateResource, flow: ShipStationTallySettings) -> dg.MaterializeResult:
    """Orders modified in the window (or the given orders), staged in DuckDB a few pages at a time."""
    now = datetime.now(UTC)
    window = resolve_window(config.modify_date_start, config.modify_date_end, parse_instant(flow.sync_start), now)
    store, gone = state.staging(), []
    with shipstation.client() as client:
        pages = reading.order_pages(client, start=window.start, end=window.end, order_ids=config.order_ids,
                                    resource_urls=config.resource_urls, gone=gone)
        # page N+1 is read on a worker thread while page N is made columns and written to DuckDB here: the
        # worker's chain (ShipStation answering, the page decoded, the next asked for) is the step's length
        with Prefetch(pages) as ahead:
            seq = store.stage_order_pages(context.run_id, now, (
                store.order_columns(page, [reading.modify_date(r) for r in page], [staged_party(r) for r in page])
                for page in ahead))
    if gone:
        state.ledger().record_skipped(FLOW, TARGET, [(str(i), "no longer in ShipStation (deleted or merged)")
                                                     for i in gone])
    scope = ({"order_ids": len(config.order_ids), "orders_gone": len(gone)} if config.order_ids
             else {"from_webhooks": len(config.resource_urls)} if config.resource_urls
             else {"window_start": window.start.isoformat(), "window_end": window.end.isoformat()})
    return dg.MaterializeResult(metadata={"orders_read": seq, "staged_run_id": context.run_id, **scope})


@dg.multi_asset(specs=[dg.AssetSpec(LEDGERS, group_name=GROUP, kinds={"tally", "duckdb"}, owners=[FINANCE]),
                       dg.AssetSpec(STOCK_ITEMS, group_name=GROUP, kinds={"tally", "duckdb"}, owners=[FINANCE])],
                 pool="tally")
def tally_masters(context: dg.AssetExecutionContext, tally: TallyResource, state: StateResource):
    """Snapshots of Tally's ledgers and stock items (with closing stock), staged in DuckDB."""
    store, now = state.staging(), datetime.now(UTC)
    client = tally.client()
    ledgers = client.list_ledgers()
    store.replace_tally_ledgers(now, [(r.name, r.parent, r.aliases) for r in ledgers])
    yield dg.MaterializeResult(asset_key=local_key(context, LEDGERS), metadata={"ledgers": len(ledgers)})
    items = client.list_stock_items()
    store.replace_tally_stock_items(now, [r.model_dump() for r in items])
    yield dg.MaterializeResult(asset_key=local_key(context, STOCK_ITEMS), metadata={"stock_items": len(items)})


@dg.asset(key=CUSTOMER_LEDGERS, group_name=GROUP, kinds={"tally"}, owners=[FINANCE], deps=[ORDERS, LEDGERS],
          pool="tally")
def tally_customer_ledgers(context: dg.AssetExecutionContext, tally: TallyResource, state: StateResource,
                           flow: ShipStationTallySettings) -> dg.MaterializeResult:
    """Creates a party ledger under TALLY_CUSTOMER_GROUP for every staged customer Tally lacks."""
    store, ledger = state.staging(), state.ledger()
    known = {name for name, _ in store.tally_ledgers()}
    hook = AuditHook(ledger.audit, run_id=context.run_id, flow="shipstation_tally.customers")
    creator = CustomerLedgerCreator(tally.client(hook), ledger, flow.customer_group, known, context.run_id,
                                    audit=hook)
    creator.ensure_staged(store, staged_run(context, ORDERS))  # reads only orders whose party Tally lacks
    store.add_tally_ledgers(datetime.now(UTC), sorted(creator.created_names))
    give_back_freed_memory()  # what reading orders back freed, before the voucher step builds on it
    report = creator.report
    return dg.MaterializeResult(metadata={
        "ledgers_needed": report.needed, "ledgers_created": report.created, "ledgers_failed": report.failed,
        "failures": checks.failure_table(report.failures, ["ledger", "order_number", "error"]),
    })


@dg.asset(key=ORDER_VOUCHERS, group_name=GROUP, kinds={"tally"}, owners=[FINANCE], pool="tally",
          deps=[ORDERS, STOCK_ITEMS, CUSTOMER_LEDGERS], check_specs=checks.ORDER_VOUCHER_CHECKS)
def tally_order_vouchers(context: dg.AssetExecutionContext, tally: TallyResource, state: StateResource,
                         flow: ShipStationTallySettings) -> dg.MaterializeResult:
    """One order voucher per staged order: created, altered, cancelled or skipped exactly once."""
    store, ledger = state.staging(), state.ledger()
    skus = SkuResolver.build(store.tally_stock_items(), flow.sku_map())
    hook = AuditHook(ledger.audit, run_id=context.run_id, flow=FLOW)
    target = TallyTarget(tally.client(hook), flow.voucher_type, hook, read_amounts=True)  # checked as settled
    poster = OrderVoucherPoster(target, ledger, flow.voucher_config(), skus,
                                {name for name, _ in store.tally_ledgers()}, context.run_id, batch_size=flow.batch_size,
                                batch_ceiling=flow.batch_ceiling)
    poster.settled_check = checks.SettledCheck(flow.voucher_config().is_inward)
    run_id = staged_run(context, ORDERS)
    staged = store.staged_order_count(run_id)  # lets the run's last read-back be short
    # streamed, one pass; a run of over two blocks is decoded and mapped in a helper process (a second core)
    poster.post(prepared_ahead(store.iter_staged_order_texts(run_id, BLOCK), prepare_texts, poster.mapping(),
                               helper=flow.map_orders_in_helper, expected=-(-staged // BLOCK)), expected=staged)
    report = poster.report
    return dg.MaterializeResult(
        metadata=checks.report_metadata(report),
        check_results=checks.order_voucher_checks(report, ledger, store.staged_order_ids(run_id), checks.ReadBack(
            tally.client(hook), flow.voucher_config(), poster.totals), poster.settled_check),
    )



ASSETS = [shipstation_orders, tally_masters, tally_customer_ledgers, tally_order_vouchers]
