"""The ShipStation -> Zoho Books flows as the application sees them (CLI, demo, replay, ledger)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pipelines.flow import FlowSpec, Replay
from pipelines.shipstation_zoho.jobs import CONTACTS_JOB, ORDERS_JOB, SHIPMENTS_JOB
from pipelines.shipstation_zoho.posting import CONTACTS_FLOW, INVOICES_FLOW, JOURNALS_FLOW
from pipelines.shipstation_zoho.window import Window, labels_config, orders_config
from state.ledger import Entry


def _labels_window(start: datetime, end: datetime) -> dict:
    return labels_config(Window(start, end), Window(start, end), datetime.now(UTC))


def orders_by_id(entries: Sequence[Entry]) -> dict:
    """Run config re-reading these orders by id (replay, transient retries)."""
    ids = sorted({int(e.source_id) for e in entries if e.source_id.isdigit()})
    return {"ops": {"shipstation__orders_to_zoho": {"config": {"order_ids": ids}}}}


def labels_of_orders(entries: Sequence[Entry]) -> dict:
    """Labels have no GET by id (ShipStation reference §3.1): re-read every label of their orders."""
    ids = sorted({int(e.group_key) for e in entries if (e.group_key or "").isdigit()})
    return {"ops": {"shipstation__labels_to_zoho": {"config": {"order_ids": ids}}}}


FLOWS = (
    FlowSpec("shipstation-to-zoho", ORDERS_JOB, "ShipStation orders -> Zoho Books contacts and invoices",
             ledger_flows=(CONTACTS_FLOW, INVOICES_FLOW),
             failed_metrics=(("zoho_books/contacts", "failed"), ("zoho_books/invoices", "failed")),
             window_config=orders_config, replay=Replay(INVOICES_FLOW, "order(s)", orders_by_id)),
    FlowSpec("shipments-to-zoho", SHIPMENTS_JOB, "ShipStation labels -> Zoho Books journals and invoice tracking",
             ledger_flows=(JOURNALS_FLOW,), failed_metrics=(("zoho_books/shipping_journals", "failed"),),
             window_config=_labels_window, replay=Replay(JOURNALS_FLOW, "label(s)", labels_of_orders)),
    FlowSpec("contacts-zoho", CONTACTS_JOB, "ShipStation customers <-> Zoho Books contacts (matched by email)",
             ledger_flows=(CONTACTS_FLOW,), failed_metrics=(("zoho_books/contacts_from_shipstation", "failed"),)),
)
