"""Acumatica <-> ShipStation assets: orders out, labels back as shipments, confirmations, daily freight.

Each asset orchestrates one pass of `runs` (which holds the logic) and reports counts and failures.
Every Acumatica client is a context manager: its session is logged out when the step ends, failed or not.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg

from connectors.shipstation.timezones import PACIFIC
from pipelines.acumatica_shipstation import runs
from pipelines.acumatica_shipstation.settings import AcumaticaShipStationSettings
from pipelines.acumatica_shipstation.tracking import V2Scans
from pipelines.metadata import FINANCE, OPERATIONS, failure_table
from pipelines.posting import PostingReport
from pipelines.sides.shipstation.labels import LabelsWindowConfig, label_pages
from pipelines.windows import optional_instant
from resources import AcumaticaResource, ShipStationResource, ShipStationV2Resource, StateResource

GROUP = "acumatica_shipstation"
ORDERS = dg.AssetKey(["shipstation", "orders_from_acumatica"])
SHIPMENTS = dg.AssetKey(["acumatica", "shipments_from_shipstation"])
CONFIRMATIONS = dg.AssetKey(["acumatica", "shipment_confirmations"])
FREIGHT = dg.AssetKey(["acumatica", "freight"])
ORDERS_OP, SHIPMENTS_OP, FREIGHT_OP = "shipstation__orders_from_acumatica", "acumatica__shipments_from_shipstation", \
    "acumatica__freight"


class OrdersConfig(dg.Config):
    """What to read: a LastModified window (empty: ACUMATICA_SYNC_START up to now), or given order keys."""

    modified_start: str | None = None
    modified_end: str | None = None
    order_keys: list[str] = []


class FreightConfig(dg.Config):
    """The ship date whose label costs to book (empty: yesterday, Pacific: ShipStation's calendar, §1.3)."""

    day: str | None = None


def report_metadata(report: PostingReport, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Counts and the failures as a table, the same for every posting asset of the pair."""
    return {"read": report.read, "created": report.created, "altered": report.altered,
            "cancelled": report.cancelled, "skipped": report.skipped, "failed": report.failed,
            "held_back": report.waiting, "resolved": report.resolved,
            "failures": failure_table(report.failures, [*report.keys, "error"]), **(extra or {})}


@dg.asset(key=ORDERS, group_name=GROUP, kinds={"acumatica", "shipstation"}, owners=[OPERATIONS])
def orders_from_acumatica(context: dg.AssetExecutionContext, config: OrdersConfig, acumatica: AcumaticaResource,
                          shipstation: ShipStationResource, state: StateResource,
                          acumatica_flow: AcumaticaShipStationSettings) -> dg.MaterializeResult:
    """Fulfilment-ready sales orders -> ShipStation orders by orderKey; weightless lines held back and reported."""
    since = optional_instant(config.modified_start) or acumatica_flow.start()
    with acumatica.client() as acu, shipstation.client() as ss:
        poster = runs.post_orders(acu, ss, state.ledger(), acumatica_flow.outbound(), context.run_id, since=since,
                                  until=optional_instant(config.modified_end), order_types=acumatica_flow.types(),
                                  keys=config.order_keys)
        sessions = acu.sessions_opened
    held = failure_table(poster.held, ["order_number", "order_key", "error"])
    not_ready = [{"reason": why, "orders": str(n)} for why, n in poster.not_ready.most_common()]
    return dg.MaterializeResult(metadata=report_metadata(poster.report, {
        "held_back_orders": held, "not_ready": failure_table(not_ready, ["reason", "orders"]),
        "acumatica_sessions": sessions}))


@dg.asset(key=SHIPMENTS, group_name=GROUP, kinds={"shipstation", "acumatica"}, owners=[OPERATIONS])
def shipments_from_shipstation(context: dg.AssetExecutionContext, config: LabelsWindowConfig,
                               acumatica: AcumaticaResource, shipstation: ShipStationResource,
                               state: StateResource, acumatica_flow: AcumaticaShipStationSettings
                               ) -> dg.MaterializeResult:
    """Labels -> Acumatica shipments (tracking, carrier, ship date, package) line by line; voids reversed.

    A window left empty reads nothing (it starts now): labels come by sensor windows, orders or webhooks.
    """
    now = datetime.now(UTC)
    with acumatica.client() as acu, shipstation.client() as ss:
        pages = label_pages(ss, config, now, now)
        poster = runs.post_shipments(acu, ss, state.ledger(), acumatica_flow.inbound(), context.run_id, pages)
    return dg.MaterializeResult(metadata=report_metadata(poster.report, {
        "orphans": failure_table(poster.orphans, ["shipment_id", "order_number", "error"])}))


@dg.asset(key=CONFIRMATIONS, group_name=GROUP, kinds={"acumatica", "shipstation"}, owners=[OPERATIONS],
          deps=[SHIPMENTS])
def shipment_confirmations(context: dg.AssetExecutionContext, acumatica: AcumaticaResource,
                           shipstation_v2: ShipStationV2Resource, state: StateResource,
                           acumatica_flow: AcumaticaShipStationSettings) -> dg.MaterializeResult:
    """Confirms shipments per FULFIL_ON: at once (`label`) or after the first carrier scan (V2 tracking)."""
    cfg = acumatica_flow.inbound()
    if cfg.fulfil_on == "carrier_scan" and not shipstation_v2.api_key:
        raise dg.Failure("FULFIL_ON=carrier_scan needs SHIPSTATION_V2_API_KEY to read carrier scans")
    with acumatica.client() as acu:
        if cfg.fulfil_on == "label":
            poster = runs.confirm_shipments(acu, state.ledger(), cfg, lambda posted: None, context.run_id)
        else:
            with shipstation_v2.client() as v2:
                poster = runs.confirm_shipments(acu, state.ledger(), cfg, V2Scans(v2), context.run_id)
    return dg.MaterializeResult(metadata=report_metadata(poster.report, {"awaiting_carrier_scan":
                                                                         poster.awaiting_scan,
                                                                         "policy": cfg.fulfil_on}))


@dg.asset(key=FREIGHT, group_name=GROUP, kinds={"acumatica"}, owners=[FINANCE], deps=[SHIPMENTS])
def freight(context: dg.AssetExecutionContext, config: FreightConfig, acumatica: AcumaticaResource,
            state: StateResource, acumatica_flow: AcumaticaShipStationSettings) -> dg.MaterializeResult:
    """One day's label costs onto their Acumatica shipments, converted or flagged when currencies differ."""
    day = date.fromisoformat(config.day) if config.day else datetime.now(PACIFIC).date() - timedelta(days=1)
    cfg = acumatica_flow.inbound()
    with acumatica.client() as acu:
        poster = runs.post_freight(acu, state.ledger(), cfg, context.run_id, day)
    return dg.MaterializeResult(metadata=report_metadata(poster.report, {
        "day": day.isoformat(), "booked": str(poster.total), "currency": cfg.base_currency}))


ASSETS = [orders_from_acumatica, shipments_from_shipstation, shipment_confirmations, freight]
