"""The ShipStation <-> TallyPrime flows as the application sees them (CLI, demo, replay, ledger)."""

from __future__ import annotations

import json
from datetime import datetime

from lxml import etree

from connectors.tally.xml_build import build_voucher_import
from connectors.tally.xml_parse import parse_xml
from pipelines.flow import FlowSpec, PreviewSources, Replay
from pipelines.shipstation_tally import customers, masters, posting, shipments
from pipelines.shipstation_tally.inventory_assets import FLOW as INVENTORY_FLOW
from pipelines.shipstation_tally.jobs import INVENTORY_JOB, MASTERS_JOB, ORDERS_JOB, SHIPMENTS_JOB
from pipelines.shipstation_tally.mapping import customer_ledger_name, describe, order_to_voucher
from pipelines.shipstation_tally.settings import ShipStationTallySettings
from pipelines.shipstation_tally.window import SHIPMENTS_OP, Window
from pipelines.sides.shipstation import config, labels, reading
from pipelines.sides.tally.skus import SkuResolver
from state.ledger import Entry


def _orders_window(start: datetime, end: datetime) -> dict:
    return Window(start, end).run_config()


orders_by_id = config.orders_by_id("shipstation__orders")
labels_of_orders = labels.labels_of_orders(SHIPMENTS_OP)


def voucher_preview(entry: Entry, sources: PreviewSources) -> str | None:
    """The import the replay would send TallyPrime for this order: mapped from the order the ledger kept, with
    the merchant's settings and the Tally stock items last staged, as the run maps it (the run re-reads the
    order first, so an order fixed in ShipStation since maps anew). A record that would fail again raises."""
    if not entry.source_payload:
        return None
    raw = json.loads(entry.source_payload)
    [(order, parsed)] = reading.parse_orders([raw])
    if order is None:
        raise ValueError(parsed["_parse_error"])
    if order.order_status == "cancelled":
        return f"cancels the order voucher of {describe(order)} (the order is cancelled)"
    settings = sources.settings
    flow = ShipStationTallySettings.from_settings(settings, settings.tally_timezone)
    skus = SkuResolver.build(sources.staging.tally_stock_items(), flow.sku_map())
    voucher = order_to_voucher(order, customer_ledger_name(order), skus, flow.voucher_config())
    if entry.target_id and entry.target_id.isdigit():  # it exists in Tally: altered by its MasterId
        voucher = voucher.model_copy(update={"action": "Alter", "master_id": int(entry.target_id)})
    text = build_voucher_import(settings.tally_company, [voucher])
    return etree.tostring(parse_xml(text), encoding="unicode", pretty_print=True)  # what is sent, indented


FLOWS = (
    FlowSpec("shipstation-to-tally", ORDERS_JOB, "ShipStation orders -> TallyPrime order vouchers",
             ledger_flows=(posting.FLOW, customers.FLOW),
             failed_metrics=(("tally/order_vouchers", "failed"), ("tally/customer_ledgers", "ledgers_failed")),
             window_config=_orders_window,
             replay=Replay(posting.FLOW, "order(s)", orders_by_id, preview=voucher_preview, target="TallyPrime")),
    FlowSpec("shipments-to-tally", SHIPMENTS_JOB, "ShipStation labels -> TallyPrime Delivery Notes",
             ledger_flows=(shipments.FLOW,), failed_metrics=(("tally/delivery_notes", "failed"),),
             window_config=labels.window_run_config(SHIPMENTS_OP),
             replay=Replay(shipments.FLOW, "shipment(s)", labels_of_orders)),
    FlowSpec("master-alignment", MASTERS_JOB, "ShipStation products and customers vs Tally masters",
             ledger_flows=(customers.FLOW, masters.STOCK_ITEM_FLOW)),
    FlowSpec("inventory-to-shipstation", INVENTORY_JOB, "Tally closing stock -> ShipStation V2 inventory",
             ledger_flows=(INVENTORY_FLOW,), failed_metrics=(("shipstation/inventory_levels", "failed"),)),
)
