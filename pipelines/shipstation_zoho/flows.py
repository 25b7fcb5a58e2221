"""The ShipStation -> Zoho Books flows as the application sees them (CLI, demo, replay, ledger)."""

from __future__ import annotations

from pipelines.flow import FlowSpec, Replay
from pipelines.shipstation_zoho.jobs import CONTACTS_JOB, ORDERS_JOB, SHIPMENTS_JOB
from pipelines.shipstation_zoho.posting import CONTACTS_FLOW, INVOICES_FLOW, JOURNALS_FLOW
from pipelines.shipstation_zoho.previews import invoice_preview, journal_preview
from pipelines.shipstation_zoho.shipment_sensors import LABELS_OP
from pipelines.shipstation_zoho.window import orders_config
from pipelines.sides.shipstation import config, labels

orders_by_id = config.orders_by_id("shipstation__orders_to_zoho")
labels_of_orders = labels.labels_of_orders(LABELS_OP)

FLOWS = (
    FlowSpec("shipstation-to-zoho", ORDERS_JOB, "ShipStation orders -> Zoho Books contacts and invoices",
             ledger_flows=(CONTACTS_FLOW, INVOICES_FLOW),
             failed_metrics=(("zoho_books/contacts", "failed"), ("zoho_books/invoices", "failed")),
             window_config=orders_config,
             replay=Replay(INVOICES_FLOW, "order(s)", orders_by_id, preview=invoice_preview, target="Zoho Books")),
    FlowSpec("shipments-to-zoho", SHIPMENTS_JOB, "ShipStation labels -> Zoho Books journals and invoice tracking",
             ledger_flows=(JOURNALS_FLOW,), failed_metrics=(("zoho_books/shipping_journals", "failed"),),
             window_config=labels.window_run_config(LABELS_OP),
             replay=Replay(JOURNALS_FLOW, "label(s)", labels_of_orders, preview=journal_preview, target="Zoho Books")),
    FlowSpec("contacts-zoho", CONTACTS_JOB, "ShipStation customers <-> Zoho Books contacts (matched by email)",
             ledger_flows=(CONTACTS_FLOW,), failed_metrics=(("zoho_books/contacts_from_shipstation", "failed"),)),
)
