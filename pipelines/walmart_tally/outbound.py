"""Tally stock and prices -> Walmart Marketplace, on a schedule (hourly by default).

Assets: `tally/stock_prices` (Tally read by change, `tally_stock.py`) -> `walmart/inventory` and
`walmart/prices` (only SKUs whose value changed since Walmart last accepted it; single calls or bulk
feeds; item errors recorded in the sync ledger with Walmart's message and retried next cycle).

Resources: `tally`, `state`, `walmart_outbound` (`WalmartOutboundConfig`) and `walmart`, any resource
whose `client()` returns a `connectors.walmart.client.WalmartClient` (asked for by key, so whichever
module defines the Walmart resource serves).
"""


from typing import Any

import dagster as dg

from connectors.tally.settings import TallySettings
from connectors.walmart.items import InventoryUpdate, PriceUpdate, WalmartItems
from pipelines.flow import FlowSpec, PairDefinitions, Replay
from pipelines.metadata import failure_table
from pipelines.sides.tally.stock import StockStage
from pipelines.walmart_tally import tally_stock
from pipelines.walmart_tally.outbound_plan import Offer, Plan, plan_offers
from pipelines.walmart_tally.outbound_push import (
    INVENTORY_FLOW,
    PRICE_FLOW,
    TARGET,
    Change,
    Kind,
    OfferPusher,
    PushResult,
)
from pipelines.walmart_tally.outbound_settings import WalmartOutboundConfig, WalmartOutboundSettings
from state.ledger import Candidate, current_owner

GROUP = tally_stock.GROUP
INVENTORY = dg.AssetKey(["walmart", "inventory"])
PRICES = dg.AssetKey(["walmart", "prices"])
JOB = "tally_stock_to_walmart"
_RESOURCES = {"walmart", "state", "walmart_outbound"}


def plan_today(context: dg.AssetExecutionContext) -> Plan:
    config: WalmartOutboundConfig = context.resources.walmart_outbound
    stock = StockStage(context.resources.state.staging()).sellable(config.today(), config.price_level or None)
    return plan_offers(stock, config.sku_map(), buffer=config.stock_buffer, only_mapped=config.sku_map_only)


def push(context: dg.AssetExecutionContext, kind: Kind, changes: list[Change]) -> PushResult:
    config: WalmartOutboundConfig = context.resources.walmart_outbound
    with context.resources.walmart.client() as client:
        pusher = OfferPusher(WalmartItems(client), context.resources.state.ledger(), current_owner(context.run_id),
                             kind, config.feed_options(), config.ship_node or None)
        return pusher.push(changes)


def report(plan: Plan, result: PushResult, mapping_failed: int) -> dict[str, Any]:
    return {
        "skus": len(plan.offers), "sent": len(result.sent), "unchanged": result.unchanged,
        "failed": len(result.failed) + mapping_failed, "pending_in_feeds": len(result.pending),
        "in_flight_elsewhere": len(result.busy), "resolved_after_crash": result.resolved,
        "single_calls": result.single_calls, "feeds": ", ".join(result.feeds),
        "failures": failure_table(result.failed, ["sku", "error"]),
    }


@dg.asset(key=INVENTORY, group_name=GROUP, kinds={"walmart"}, deps=[tally_stock.STOCK_PRICES],
          required_resource_keys=_RESOURCES)
def walmart_inventory(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Walmart's quantity per SKU set to Tally's closing stock less the buffer, where it changed."""
    plan = plan_today(context)
    errors = [e for e in plan.errors if e.field != "price"]
    _record_mapping_errors(context, INVENTORY_FLOW, errors)
    changes = [Change(InventoryUpdate(sku=o.sku, quantity=o.quantity), o.stock_item) for o in plan.offers]
    result = push(context, "inventory", changes)
    notes = [{"sku": o.sku, "error": o.note} for o in plan.offers if o.note]
    return dg.MaterializeResult(metadata={**report(plan, result, len(errors)),
                                          "quantity_notes": failure_table(notes, ["sku", "error"])})


@dg.asset(key=PRICES, group_name=GROUP, kinds={"walmart"}, deps=[tally_stock.STOCK_PRICES],
          required_resource_keys=_RESOURCES)
def walmart_prices(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Walmart's BASE price per SKU set to the Tally selling price in force today, where it changed."""
    config: WalmartOutboundConfig = context.resources.walmart_outbound
    plan = plan_today(context)
    _record_mapping_errors(context, PRICE_FLOW, plan.errors)
    changes = [Change(PriceUpdate(sku=o.sku, amount=o.price, currency=config.currency), o.stock_item)
               for o in _priced(plan.offers)]
    result = push(context, "price", changes)
    return dg.MaterializeResult(metadata={**report(plan, result, len(plan.errors)),
                                          "price_level": config.price_level or "(standard selling price)"})


def _priced(offers: list[Offer]) -> list[Offer]:
    return [o for o in offers if o.price is not None]


def _record_mapping_errors(context: dg.AssetExecutionContext, flow: str, errors: list) -> None:
    """SKUs that cannot be sent are failed records (with why), kept until their data is fixed."""
    ledger = context.resources.state.ledger()
    known = ledger.outcomes(flow, TARGET, [e.record for e in errors])
    for error in errors:
        entry = known.get(error.record)
        if entry is not None and entry.last_error == str(error):
            continue  # already on record, unchanged: no write per SKU per cycle
        cand = Candidate(error.record, f"{flow.rsplit('.', 1)[-1]}:{error.record}", "", detail={"field": error.field})
        ledger.record_failed_unclaimed(flow, TARGET, cand, str(error), "{}")


tally_stock_to_walmart = dg.define_asset_job(
    JOB, selection=dg.AssetSelection.groups(GROUP),
    description="Tally stock and prices (read by change) -> Walmart inventory and prices, only what changed.",
)

OUTBOUND_FLOWS = (
    FlowSpec("tally-stock-to-walmart", JOB, "Tally closing stock and selling prices -> Walmart Marketplace",
             ledger_flows=(INVENTORY_FLOW, PRICE_FLOW),
             failed_metrics=(("walmart/inventory", "failed"), ("walmart/prices", "failed")),
             # Every run re-sends every failed SKU (inventory and price) and reads Tally by change: no config.
             replay=Replay(INVENTORY_FLOW, "SKU(s)", lambda entries: {})),
)

ASSETS = [*tally_stock.ASSETS, walmart_inventory, walmart_prices]


def stock_schedule(cron: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="tally_stock_to_walmart_schedule", job=tally_stock_to_walmart, cron_schedule=cron,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=f"Tally stock and prices -> Walmart ({cron}, WALMART_STOCK_SCHEDULE).")


def outbound_definitions(flow: WalmartOutboundSettings, tally: TallySettings) -> PairDefinitions:
    """The outbound half of the Walmart <-> TallyPrime pair: assets, job, schedule and its settings resource."""
    return PairDefinitions(
        assets=ASSETS, jobs=[tally_stock_to_walmart], schedules=[stock_schedule(flow.walmart_stock_schedule)],
        resources={"walmart_outbound": WalmartOutboundConfig.from_settings(flow, tally.tally_timezone)},
    )
