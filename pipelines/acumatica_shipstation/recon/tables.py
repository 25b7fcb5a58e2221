"""The Acumatica ↔ ShipStation pack's snapshot tables and exception categories.

`day` is the business date (books' time zone) of a record: an Acumatica order's date, a ShipStation
order's order date, a label's create date, an Acumatica shipment's date. `order_key` is the ShipStation
`orderKey` of an Acumatica order (pipelines/acumatica_shipstation/mapping.order_key); `ext_key` is our
key on an Acumatica package (`ss-label-<shipmentId>`, in `CustomRefNbr1`).
"""

from __future__ import annotations

from pipelines.reconciliation.pack import FINANCE, OPERATIONS

SNAPSHOTS: dict[str, str] = {
    "recon_as_orders": """day DATE NOT NULL, order_key VARCHAR NOT NULL, order_type VARCHAR, order_nbr VARCHAR,
        status VARCHAR, customer_id VARCHAR, currency_id VARCHAR, order_total DECIMAL(18, 2), freight DECIMAL(18, 2),
        fetched_at TIMESTAMPTZ NOT NULL""",
    "recon_as_ss_orders": """day DATE NOT NULL, order_id BIGINT NOT NULL, order_key VARCHAR, order_number VARCHAR,
        order_status VARCHAR, source VARCHAR, fetched_at TIMESTAMPTZ NOT NULL""",
    "recon_as_labels": """day DATE NOT NULL, shipment_id BIGINT NOT NULL, order_id BIGINT, order_key VARCHAR,
        order_number VARCHAR, tracking_number VARCHAR, carrier_code VARCHAR, voided BOOLEAN, cost DECIMAL(18, 2),
        fetched_at TIMESTAMPTZ NOT NULL""",
    "recon_as_packages": """day DATE NOT NULL, shipment_nbr VARCHAR NOT NULL, status VARCHAR, order_key VARCHAR,
        ext_key VARCHAR, tracking_number VARCHAR, freight_cost DECIMAL(18, 2), fetched_at TIMESTAMPTZ NOT NULL""",
    "recon_as_tracking": """day DATE NOT NULL, shipment_id BIGINT NOT NULL, tracking_number VARCHAR, status VARCHAR,
        carrier_has_parcel BOOLEAN, fetched_at TIMESTAMPTZ NOT NULL""",
}

CATEGORIES: dict[str, tuple[str, str]] = {
    "status_mismatch": (OPERATIONS, "the order's status in ShipStation does not agree with Acumatica's"),
    "late_edit": (OPERATIONS, "the order was edited in Acumatica after ShipStation locked it (shipped or cancelled)"),
    "tracking_writeback_failed": (OPERATIONS, "a live label's tracking number is not on any Acumatica shipment"),
    "duplicate_order_attempt": (OPERATIONS, "one Acumatica order is in ShipStation more than once"),
    "orphaned_shipment": (OPERATIONS, "a shipment on one side matches no order or label on the other"),
    "shipping_cost_variance": (FINANCE, "the freight booked in Acumatica differs from what the label cost"),
    "currency_mismatch": (FINANCE, "amounts in one currency meet books or a store in another"),
    "fulfilled_without_scan": (OPERATIONS, "an Acumatica shipment is confirmed but the carrier has not scanned it"),
}

# Categories that say an Acumatica order does not agree with ShipStation: an order with none is matched.
ORDER_CATEGORIES = ("status_mismatch", "late_edit", "duplicate_order_attempt", "currency_mismatch")
