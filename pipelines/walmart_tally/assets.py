"""Walmart -> TallyPrime assets for orders and returns: stage in DuckDB, then post exactly once.

`walmart/orders` -> `tally/walmart_sales` (party ledgers created first, optional acknowledgement);
`walmart/returns` -> `tally/walmart_credit_notes`. The Walmart client comes from the `walmart`
resource (any resource whose `client()` gives a `WalmartClient`), asked for by key.
"""

from datetime import UTC, datetime
from itertools import chain

import dagster as dg

from connectors.common.errors import RecordError
from connectors.walmart.models import Order, ReturnOrder
from pipelines.metadata import FINANCE, OPERATIONS, failure_table
from pipelines.posting import PostingReport
from pipelines.sides.tally.target import TallyTarget
from pipelines.staged import staged_run
from pipelines.walmart_tally import parties
from pipelines.walmart_tally.posting import CREDIT_NOTE_FLOW, SALES_FLOW, CreditNotePoster, SalesPoster, posted_sales
from pipelines.walmart_tally.settings import WalmartTallySettings
from pipelines.walmart_tally.staging import WalmartStaging
from pipelines.walmart_tally.window import created_floor, resolve_window
from pipelines.windows import parse_instant
from resources import StateResource, TallyResource
from state.audit_hook import AuditHook
from state.ledger import SyncLedger

GROUP = "walmart_tally"
ORDERS = dg.AssetKey(["walmart", "orders"])
RETURNS = dg.AssetKey(["walmart", "returns"])
SALES = dg.AssetKey(["tally", "walmart_sales"])
CREDIT_NOTES = dg.AssetKey(["tally", "walmart_credit_notes"])
# `walmart` is asked for by key: any resource whose `client()` gives a `WalmartClient` serves.
WITH_WALMART = {"walmart", "state", "walmart_flow"}


class WalmartWindowConfig(dg.Config):
    """What to read: a lastModified window (empty: WALMART_SYNC_START up to now), or given records."""

    modified_start: str | None = None
    modified_end: str | None = None
    ids: list[str] = []  # purchase order ids (orders) or return order ids (returns)


@dg.asset(key=ORDERS, group_name=GROUP, kinds={"walmart", "duckdb"}, owners=[OPERATIONS],
          required_resource_keys=WITH_WALMART)
def walmart_orders(context: dg.AssetExecutionContext, config: WalmartWindowConfig) -> dg.MaterializeResult:
    """Purchase orders modified in the window (or the given POs), staged page by page in DuckDB."""
    state, walmart_flow = _resources(context)
    now, staging, seq = datetime.now(UTC), WalmartStaging(state.staging()), 0
    window = resolve_window(config.modified_start, config.modified_end, parse_instant(walmart_flow.sync_start), now)
    with context.resources.walmart.client() as client:
        pages = ([[client.get_order_raw(po)] for po in config.ids] if config.ids else client.iter_order_pages_raw(
            created_start=created_floor(parse_instant(walmart_flow.sync_start), window.end),
            modified_start=window.start, modified_end=window.end))
        for page in pages:
            orders = [_order_or_none(raw) for raw in page]
            seq = staging.stage("orders", context.run_id, seq, now, page,
                                [str(r.get("purchaseOrderId") or "") for r in page],
                                [str(r.get("customerOrderId") or "") for r in page],
                                [o.last_change if o else None for o in orders])
    return dg.MaterializeResult(metadata={"orders_read": seq, "window_start": window.start.isoformat(),
                                          "window_end": window.end.isoformat(), "by_id": len(config.ids)})


@dg.asset(key=SALES, group_name=GROUP, kinds={"tally"}, owners=[FINANCE], deps=[ORDERS], pool="tally",
          required_resource_keys=WITH_WALMART | {"tally"})
def tally_walmart_sales(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """One Sales voucher per staged PO (party ledgers first): created, altered, cancelled or skipped once."""
    (state, walmart_flow), tally = _resources(context), context.resources.tally
    staging, ledger, cfg = WalmartStaging(state.staging()), state.ledger(), walmart_flow.sales_config()
    hook = AuditHook(ledger.audit, run_id=context.run_id, flow=SALES_FLOW)
    client = tally.client(hook)
    run_id = staged_run(context, ORDERS)
    masters = parties.ensure(client, ledger, cfg, context.run_id, hook, walmart_flow.sku_map(),
                             (o for o in map(_order_or_none, chain.from_iterable(staging.iter_staged("orders", run_id)))
                              if o is not None))
    poster = SalesPoster(TallyTarget(client, cfg.voucher_type, hook), ledger, cfg, masters.skus, masters.known,
                         context.run_id, batch_size=walmart_flow.batch_size, batch_ceiling=walmart_flow.batch_ceiling)
    report = poster.post(chain.from_iterable(staging.iter_staged("orders", run_id)))
    acknowledged = _acknowledge(context, walmart_flow, ledger, staging, run_id)
    return dg.MaterializeResult(metadata={
        **counts(report), "acknowledged": acknowledged, "ledgers_created": len(masters.created),
        "failures": failure_table([*masters.failures, *report.failures], ["purchase_order", "error"])})


@dg.asset(key=RETURNS, group_name=GROUP, kinds={"walmart", "duckdb"}, owners=[OPERATIONS],
          required_resource_keys=WITH_WALMART)
def walmart_returns(context: dg.AssetExecutionContext, config: WalmartWindowConfig) -> dg.MaterializeResult:
    """Returns modified in the window, staged in DuckDB."""
    state, walmart_flow = _resources(context)
    now, staging, seq = datetime.now(UTC), WalmartStaging(state.staging()), 0
    window = resolve_window(config.modified_start, config.modified_end, parse_instant(walmart_flow.sync_start), now)
    with context.resources.walmart.client() as client:
        for page in client.iter_return_pages_raw(modified_start=window.start, modified_end=window.end):
            if config.ids:
                page = [r for r in page if str(r.get("returnOrderId")) in set(config.ids)]
            seq = staging.stage("returns", context.run_id, seq, now, page,
                                [str(r.get("returnOrderId") or "") for r in page],
                                [str(r.get("customerOrderId") or "") for r in page], [None] * len(page))
    return dg.MaterializeResult(metadata={"returns_read": seq, "window_start": window.start.isoformat(),
                                          "window_end": window.end.isoformat()})


@dg.asset(key=CREDIT_NOTES, group_name=GROUP, kinds={"tally"}, owners=[FINANCE], deps=[RETURNS, SALES],
          pool="tally")
def tally_walmart_credit_notes(context: dg.AssetExecutionContext, tally: TallyResource, state: StateResource,
                               walmart_flow: WalmartTallySettings) -> dg.MaterializeResult:
    """A Credit Note per refunded return and PO, against the original sale; unrefunded returns wait."""
    staging, ledger, cfg = WalmartStaging(state.staging()), state.ledger(), walmart_flow.sales_config()
    hook = AuditHook(ledger.audit, run_id=context.run_id, flow=CREDIT_NOTE_FLOW)
    client = tally.client(hook)
    returns, unreadable, unrefunded = [], [], 0
    for raw in chain.from_iterable(staging.iter_staged("returns", staged_run(context, RETURNS))):
        ret = _return_or_none(raw)
        if ret is None:
            unreadable.append({"return_order": str(raw.get("returnOrderId")), "error": "unreadable return"})
        elif ret.refunded:
            returns.append(ret)
        else:
            unrefunded += 1
    sales = posted_sales(ledger, sorted({po for ret in returns for po in ret.purchase_order_ids}))
    skus = parties.resolver(client, walmart_flow.sku_map())
    poster = CreditNotePoster(TallyTarget(client, cfg.credit_note_type, hook), ledger, cfg, skus, sales,
                              context.run_id, batch_size=walmart_flow.batch_size,
                              batch_ceiling=walmart_flow.batch_ceiling)
    report = poster.post((ret, po) for ret in returns for po in ret.purchase_order_ids)
    return dg.MaterializeResult(metadata={**counts(report), "not_refunded_yet": unrefunded,
                                          "failures": failure_table([*unreadable, *report.failures],
                                                                    ["return_order", "error"])})


def _resources(context: dg.AssetExecutionContext) -> tuple[StateResource, WalmartTallySettings]:
    return context.resources.state, context.resources.walmart_flow


def counts(report: PostingReport) -> dict[str, int]:
    return {"read": report.read, "created": report.created, "altered": report.altered,
            "cancelled": report.cancelled, "skipped": report.skipped, "failed": report.failed,
            "waiting": report.waiting, "busy": report.busy, "unknown": report.unknown}



def _acknowledge(context: dg.AssetExecutionContext, flow: WalmartTallySettings, ledger: SyncLedger,
                 staging: WalmartStaging, run_id: str) -> int:
    """Acknowledge (WALMART_ACKNOWLEDGE_ORDERS) each staged PO still `Created` once its Sales voucher exists."""
    if not flow.acknowledge_orders:
        return 0
    waiting = [o for o in map(_order_or_none, chain.from_iterable(staging.iter_staged("orders", run_id)))
               if o is not None and any(s.status == "Created" for line in o.lines for s in line.statuses)]
    posted = posted_sales(ledger, [o.purchase_order_id for o in waiting])
    with context.resources.walmart.client() as client:
        for po in posted:
            client.acknowledge(po)
    return len(posted)


def _order_or_none(raw: dict) -> Order | None:
    try:
        return Order.from_raw(raw)
    except (RecordError, ValueError):
        return None  # the poster fails it, naming the field


def _return_or_none(raw: dict) -> ReturnOrder | None:
    try:
        return ReturnOrder.from_raw(raw)
    except (RecordError, ValueError):
        return None


ASSETS = [walmart_orders, tally_walmart_sales, walmart_returns, tally_walmart_credit_notes]
