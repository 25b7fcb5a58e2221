"""Tally stock and prices -> Walmart Marketplace, on a schedule (hourly by default).

Assets: `tally/stock_prices` (Tally read by change, `tally_stock.py`) -> `walmart/inventory` and
`walmart/prices` (only SKUs whose value changed since Walmart last accepted it; single calls or bulk
feeds; item errors recorded in the sync ledger with Walmart's message and retried next cycle). The asset
check `walmart_shows_what_was_sent` reads back up to ten accepted SKUs' quantities from Walmart (WARN).

Resources: `tally`, `state`, `walmart_outbound` (`WalmartOutboundConfig`) and `walmart`, any resource
whose `client()` returns a `connectors.walmart.client.WalmartClient` (asked for by key, so whichever
module defines the Walmart resource serves).
"""


from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from connectors.tally.settings import TallySettings
from connectors.walmart.items import InventoryUpdate, PriceUpdate, WalmartItems
from pipelines.flow import FlowSpec, PairDefinitions, Replay
from pipelines.metadata import OPERATIONS, failure_table
from pipelines.sides.errors import MappingError
from pipelines.sides.tally.stock import StockStage
from pipelines.walmart_tally import tally_stock
from pipelines.walmart_tally.outbound_feeds import OutstandingFeeds
from pipelines.walmart_tally.outbound_plan import Plan, plan_offers
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
from pipelines.walmart_tally.previews import inventory_preview
from state.ledger import Candidate, current_owner

GROUP = tally_stock.GROUP
INVENTORY = dg.AssetKey(["walmart", "inventory"])
PRICES = dg.AssetKey(["walmart", "prices"])
JOB = "tally_stock_to_walmart"
FLOW = "tally-stock-to-walmart"
FLOW_TAG = "ml-connector/flow"  # as every flow's job: runs carry the flow's CLI name
_RESOURCES = {"walmart", "state", "walmart_outbound"}
READ_BACK_CHECK = "walmart_shows_what_was_sent"
READ_BACK_SAMPLE = 10  # SKUs read back per run: proof the writes landed, at ten GETs' cost


def changes_of(kind: Kind, plan: Plan, currency: str) -> tuple[list[Change], list[MappingError]]:
    """What one kind sends, and the errors that concern it (a missing price does not hold the quantity back)."""
    if kind == "inventory":
        return ([Change(InventoryUpdate(sku=o.sku, quantity=o.quantity), o.stock_item) for o in plan.offers],
                [e for e in plan.errors if e.field != "price"])
    return ([Change(PriceUpdate(sku=o.sku, amount=o.price, currency=currency), o.stock_item)
             for o in plan.offers if o.price is not None], plan.errors)


@dataclass
class Outcome:
    plan: Plan
    result: PushResult
    mapping_failed: int
    mismatches: list[dict[str, str]] = field(default_factory=list)  # read back from Walmart, inventory only


def sync(context: dg.AssetExecutionContext, kind: Kind) -> Outcome:
    """Plan today's offers from the staged Tally stock, record what cannot be sent, push what changed."""
    config: WalmartOutboundConfig = context.resources.walmart_outbound
    state = context.resources.state
    with context.resources.walmart.client() as client:
        items = WalmartItems(client)
        listed = set(items.iter_listed_skus()) if config.listed_only else None
        stock = StockStage(state.staging()).sellable(config.today(), config.price_level or None)
        plan = plan_offers(stock, config.sku_map(), buffer=config.stock_buffer, only_mapped=config.sku_map_only,
                           listed=listed)
        changes, errors = changes_of(kind, plan, config.currency)
        _record_mapping_errors(context, INVENTORY_FLOW if kind == "inventory" else PRICE_FLOW, errors)
        pusher = OfferPusher(items, state.ledger(), current_owner(context.run_id), kind, config.feed_options(),
                             config.ship_node or None, OutstandingFeeds(state.staging()))
        outcome = Outcome(plan, pusher.push(changes), len(errors))
        if kind == "inventory":
            outcome.mismatches = read_back(items, changes, outcome.result.sent, config.ship_node or None)
        return outcome


def read_back(items: WalmartItems, changes: list[Change], sent: list[str],
              ship_node: str | None) -> list[dict[str, str]]:
    """Walmart's quantity for a sample of the SKUs it accepted this run, where it differs from what we sent."""
    wanted = {c.update.sku: c.update.quantity for c in changes if isinstance(c.update, InventoryUpdate)}
    mismatches = []
    for sku in sent[:READ_BACK_SAMPLE]:
        shown = items.get_inventory(sku, ship_node)
        if shown != wanted[sku]:
            mismatches.append({"sku": sku, "sent": str(wanted[sku]), "walmart": str(shown)})
    return mismatches


def report(outcome: Outcome) -> dict[str, Any]:
    plan, result, mapping_failed = outcome.plan, outcome.result, outcome.mapping_failed
    return {
        "skus": len(plan.offers), "sent": len(result.sent), "unchanged": result.unchanged,
        "failed": len(result.failed) + mapping_failed, "pending_in_feeds": len(result.pending),
        "in_flight_elsewhere": len(result.busy), "resolved_after_crash": result.resolved,
        "single_calls": result.single_calls, "feeds": ", ".join(result.feeds),
        "settled_from_earlier_feeds": len(result.settled_late),
        "not_listed_on_walmart": plan.not_listed, "listed_without_stock_item": ", ".join(plan.unmatched[:100]),
        "failures": failure_table(result.failed, ["sku", "error"]),
    }


@dg.asset(key=INVENTORY, group_name=GROUP, kinds={"walmart"}, owners=[OPERATIONS], deps=[tally_stock.STOCK_PRICES],
          required_resource_keys=_RESOURCES, check_specs=[dg.AssetCheckSpec(
              READ_BACK_CHECK, asset=INVENTORY, description=(
              "Up to ten SKUs Walmart accepted this run are read back from Walmart: each must show the quantity we "
              "sent (a warning: another channel may have sold since)."))])
def walmart_inventory(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Walmart's quantity per SKU set to Tally's closing stock less the buffer, where it changed."""
    outcome = sync(context, "inventory")
    notes = [{"sku": o.sku, "error": o.note} for o in outcome.plan.offers if o.note]
    check = dg.AssetCheckResult(
        check_name=READ_BACK_CHECK, passed=not outcome.mismatches, severity=dg.AssetCheckSeverity.WARN,
        metadata={"read_back": min(len(outcome.result.sent), READ_BACK_SAMPLE),
                  "mismatches": failure_table(outcome.mismatches, ["sku", "sent", "walmart"])})
    return dg.MaterializeResult(metadata={**report(outcome), "quantity_notes": failure_table(notes, ["sku", "error"])},
                                check_results=[check])


@dg.asset(key=PRICES, group_name=GROUP, kinds={"walmart"}, owners=[OPERATIONS], deps=[tally_stock.STOCK_PRICES],
          required_resource_keys=_RESOURCES)
def walmart_prices(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Walmart's BASE price per SKU set to the Tally selling price in force today, where it changed."""
    outcome = sync(context, "price")
    level = context.resources.walmart_outbound.price_level
    return dg.MaterializeResult(metadata={**report(outcome),
                                          "price_level": level or "(standard selling price)"})


def _record_mapping_errors(context: dg.AssetExecutionContext, flow: str, errors: list[MappingError]) -> None:
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
    JOB, selection=dg.AssetSelection.assets(tally_stock.STOCK_PRICES, INVENTORY, PRICES),
    description="Tally stock and prices (read by change) -> Walmart inventory and prices, only what changed.",
    tags={FLOW_TAG: FLOW},
)

OUTBOUND_FLOWS = (
    FlowSpec(FLOW, JOB, "Tally closing stock and selling prices -> Walmart Marketplace",
             ledger_flows=(INVENTORY_FLOW, PRICE_FLOW),
             failed_metrics=(("walmart/inventory", "failed"), ("walmart/prices", "failed")),
             # Every run re-sends every failed SKU (inventory and price) and reads Tally by change: no config.
             replay=Replay(INVENTORY_FLOW, "SKU(s)", lambda entries: {}, preview=inventory_preview,
                           target="Walmart")),
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
