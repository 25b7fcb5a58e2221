"""The Acumatica <-> ShipStation flows as the application sees them (CLI, demo, replay, ledger)."""

from __future__ import annotations

from pipelines.acumatica_shipstation.assets import SHIPMENTS_OP
from pipelines.acumatica_shipstation.jobs import CONFIRM_JOB, FREIGHT_JOB, ORDERS_JOB, SHIPMENTS_JOB
from pipelines.acumatica_shipstation.posting import CONFIRM_FLOW, FREIGHT_FLOW, ORDERS_FLOW, SHIPMENTS_FLOW
from pipelines.acumatica_shipstation.previews import order_preview, shipment_preview
from pipelines.acumatica_shipstation.retry_sensors import labels_of_orders, orders_by_key
from pipelines.acumatica_shipstation.sensors import order_run_config
from pipelines.flow import FlowSpec, Replay
from pipelines.sides.shipstation.labels import window_run_config

FLOWS = (
    FlowSpec("acumatica-to-shipstation", ORDERS_JOB, "Acumatica sales orders -> ShipStation orders (by orderKey)",
             ledger_flows=(ORDERS_FLOW,), failed_metrics=(("shipstation/orders_from_acumatica", "failed"),),
             window_config=order_run_config,
             replay=Replay(ORDERS_FLOW, "order(s)", orders_by_key, preview=order_preview, target="ShipStation")),
    FlowSpec("shipments-to-acumatica", SHIPMENTS_JOB,
             "ShipStation labels -> Acumatica shipments with tracking, confirmed per FULFIL_ON",
             ledger_flows=(SHIPMENTS_FLOW, CONFIRM_FLOW),
             failed_metrics=(("acumatica/shipments_from_shipstation", "failed"),
                             ("acumatica/shipment_confirmations", "failed")),
             window_config=window_run_config(SHIPMENTS_OP),
             replay=Replay(SHIPMENTS_FLOW, "shipment(s)", labels_of_orders, preview=shipment_preview,
                           target="Acumatica")),
    FlowSpec("acumatica-freight", FREIGHT_JOB, "A day's ShipStation label costs -> Acumatica shipment freight",
             ledger_flows=(FREIGHT_FLOW,), failed_metrics=(("acumatica/freight", "failed"),)),
    FlowSpec("acumatica-confirmations", CONFIRM_JOB, "Confirm Acumatica shipments once the carrier has the parcel",
             ledger_flows=(CONFIRM_FLOW,), failed_metrics=(("acumatica/shipment_confirmations", "failed"),)),
)
