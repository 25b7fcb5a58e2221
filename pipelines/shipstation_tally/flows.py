"""The ShipStation <-> TallyPrime flows as the application sees them (CLI, demo, replay, ledger)."""

from __future__ import annotations

from datetime import datetime

from pipelines.flow import FlowSpec, Replay
from pipelines.shipstation_tally import customers, masters, posting, shipments
from pipelines.shipstation_tally.inventory_assets import FLOW as INVENTORY_FLOW
from pipelines.shipstation_tally.jobs import INVENTORY_JOB, MASTERS_JOB, ORDERS_JOB, SHIPMENTS_JOB
from pipelines.shipstation_tally.previews import delivery_note_preview, voucher_preview
from pipelines.shipstation_tally.window import SHIPMENTS_OP, Window
from pipelines.sides.shipstation import config, labels


def _orders_window(start: datetime, end: datetime) -> dict:
    return Window(start, end).run_config()


orders_by_id = config.orders_by_id("shipstation__orders")
labels_of_orders = labels.labels_of_orders(SHIPMENTS_OP)


FLOWS = (
    FlowSpec("shipstation-to-tally", ORDERS_JOB, "ShipStation orders -> TallyPrime order vouchers",
             ledger_flows=(posting.FLOW, customers.FLOW),
             failed_metrics=(("tally/order_vouchers", "failed"), ("tally/customer_ledgers", "ledgers_failed")),
             window_config=_orders_window,
             replay=Replay(posting.FLOW, "order(s)", orders_by_id, preview=voucher_preview, target="TallyPrime")),
    FlowSpec("shipments-to-tally", SHIPMENTS_JOB, "ShipStation labels -> TallyPrime Delivery Notes",
             ledger_flows=(shipments.FLOW,), failed_metrics=(("tally/delivery_notes", "failed"),),
             window_config=labels.window_run_config(SHIPMENTS_OP),
             replay=Replay(shipments.FLOW, "shipment(s)", labels_of_orders, preview=delivery_note_preview,
                           target="TallyPrime")),
    FlowSpec("master-alignment", MASTERS_JOB, "ShipStation products and customers vs Tally masters",
             ledger_flows=(customers.FLOW, masters.STOCK_ITEM_FLOW)),
    FlowSpec("inventory-to-shipstation", INVENTORY_JOB, "Tally closing stock -> ShipStation V2 inventory",
             ledger_flows=(INVENTORY_FLOW,), failed_metrics=(("shipstation/inventory_levels", "failed"),)),
)
