"""The ShipStation ↔ Zoho Books pack's snapshot tables and exception categories.

`day` is the business date in the books' time zone: an order's order date, a label's create date, an
invoice's or journal's own date. `reference` is the invoice's or journal's `reference_number`, where
ml-connector writes its key (`ss-order-<orderId>`, `ss-label-<shipmentId>`, `ss-labels-<day>`, and
`<key>-void` on a reversal).
"""

from __future__ import annotations

from pipelines.reconciliation.pack import FINANCE, OPERATIONS

SNAPSHOTS: dict[str, str] = {
    "recon_sz_orders": """day DATE NOT NULL, order_id BIGINT NOT NULL, order_number VARCHAR, order_status VARCHAR,
        customer VARCHAR, customer_email VARCHAR, order_total DECIMAL(18, 2), fetched_at TIMESTAMPTZ NOT NULL""",
    "recon_sz_labels": """day DATE NOT NULL, shipment_id BIGINT NOT NULL, order_id BIGINT, order_number VARCHAR,
        voided BOOLEAN, void_date TIMESTAMPTZ, cost DECIMAL(18, 2), tracking_number VARCHAR,
        fetched_at TIMESTAMPTZ NOT NULL""",
    "recon_zb_invoices": """day DATE NOT NULL, invoice_id VARCHAR NOT NULL, invoice_number VARCHAR, reference VARCHAR,
        customer_name VARCHAR, status VARCHAR, total DECIMAL(18, 2), fetched_at TIMESTAMPTZ NOT NULL""",
    "recon_zb_journals": """day DATE NOT NULL, journal_id VARCHAR NOT NULL, reference VARCHAR, total DECIMAL(18, 2),
        fetched_at TIMESTAMPTZ NOT NULL""",
}

CATEGORIES: dict[str, tuple[str, str]] = {
    "order_without_invoice": (FINANCE, "a ShipStation order has no live invoice in Zoho Books"),
    "invoice_without_order": (FINANCE, "an invoice keyed by ml-connector matches no ShipStation order"),
    "duplicate_invoices": (FINANCE, "one order has more than one live invoice"),
    "amount_mismatch": (FINANCE, "the invoice total differs from the order total"),
    "customer_mismatch": (FINANCE, "the invoice's customer is not the order's"),
    "cancelled_invoice_live": (FINANCE, "the order is cancelled in ShipStation but its invoice is not void"),
    "label_without_journal": (FINANCE, "a label's cost has no journal in Zoho Books"),
    "journal_without_label": (FINANCE, "a shipping journal matches no ShipStation label"),
    "voided_label_not_reversed": (FINANCE, "a voided label's journal has no reversal"),
    "sync_failed": (OPERATIONS, "the sync ledger holds a failed record"),
    "sync_stuck_pending": (OPERATIONS, "the sync ledger holds a write left pending by a run that is gone"),
}

ORDER_CATEGORIES = ("order_without_invoice", "duplicate_invoices", "amount_mismatch", "customer_mismatch",
                    "cancelled_invoice_live")
