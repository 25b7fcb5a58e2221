"""The ShipStation ↔ TallyPrime pack's snapshot tables and exception categories.

Every table's `day` is the business date in the books' time zone (TALLY_TIMEZONE) of the record: the
order date of an order, the label's create date, the voucher date, the date a stock snapshot was taken
for. `ext_key` is our marker on a Tally voucher (`ss-order-<orderId>`, `ss-shipment-<shipmentId>`),
read from the narration; a voucher without one was made outside ml-connector.
"""

from __future__ import annotations

from pipelines.reconciliation.pack import FINANCE, OPERATIONS

SNAPSHOTS: dict[str, str] = {
    # ShipStation side
    "recon_ss_orders": """day DATE NOT NULL, order_id BIGINT NOT NULL, order_number VARCHAR, order_status VARCHAR,
        order_date TIMESTAMPTZ, customer VARCHAR, order_total DECIMAL(18, 2), shipping_amount DECIMAL(18, 2),
        fetched_at TIMESTAMPTZ NOT NULL, ship_date DATE""",
    "recon_ss_order_lines": """day DATE NOT NULL, order_id BIGINT NOT NULL, line_key VARCHAR, sku VARCHAR,
        quantity DECIMAL(18, 4), amount DECIMAL(18, 2), adjustment BOOLEAN""",
    "recon_ss_shipments": """day DATE NOT NULL, shipment_id BIGINT NOT NULL, order_id BIGINT, order_number VARCHAR,
        create_date TIMESTAMPTZ, voided BOOLEAN, void_date TIMESTAMPTZ, shipment_cost DECIMAL(18, 2),
        tracking_number VARCHAR, carrier_code VARCHAR, fetched_at TIMESTAMPTZ NOT NULL""",
    "recon_ss_shipment_lines": """day DATE NOT NULL, shipment_id BIGINT NOT NULL, order_id BIGINT, line_key VARCHAR,
        sku VARCHAR, quantity DECIMAL(18, 4)""",
    "recon_ss_inventory": """day DATE NOT NULL, sku VARCHAR NOT NULL, on_hand DECIMAL(18, 4),
        fetched_at TIMESTAMPTZ NOT NULL""",
    # TallyPrime side, read back from Tally (not from our ledger)
    "recon_tally_vouchers": """day DATE NOT NULL, voucher_type VARCHAR NOT NULL, master_id BIGINT, guid VARCHAR,
        voucher_number VARCHAR, reference VARCHAR, party VARCHAR, ext_key VARCHAR, cancelled BOOLEAN,
        amount DECIMAL(18, 2), fetched_at TIMESTAMPTZ NOT NULL""",
    "recon_tally_voucher_lines": """day DATE NOT NULL, master_id BIGINT, stock_item VARCHAR, quantity DECIMAL(18, 4),
        amount DECIMAL(18, 2), order_no VARCHAR, tracking_number VARCHAR""",
    "recon_tally_stock": """day DATE NOT NULL, stock_item VARCHAR NOT NULL, closing_qty DECIMAL(18, 4),
        fetched_at TIMESTAMPTZ NOT NULL""",
    # SKU -> stock item as the vouchers resolve it, at snapshot time (for quantity and stock comparisons)
    "recon_sku_items": """day DATE NOT NULL, sku VARCHAR NOT NULL, stock_item VARCHAR NOT NULL""",
}

# category -> (owner, what it means); the reason on each row says it for that record in plain words.
CATEGORIES: dict[str, tuple[str, str]] = {
    "order_without_voucher": (FINANCE, "a ShipStation order has no active order voucher in Tally"),
    "voucher_without_order": (FINANCE, "an order voucher in Tally matches no ShipStation order (orphan)"),
    "duplicate_vouchers": (FINANCE, "one order has more than one active order voucher"),
    "amount_mismatch": (FINANCE, "the voucher's total differs from the order total"),
    "quantity_mismatch": (FINANCE, "the voucher's quantity of an item differs from the order's"),
    "customer_mismatch": (FINANCE, "the voucher's party is not the order's customer"),
    "date_mismatch": (FINANCE, "the voucher date is not the order date"),
    "shipment_without_note": (OPERATIONS, "a live label has no active Delivery Note"),
    "note_without_shipment": (OPERATIONS, "a Delivery Note matches no ShipStation label (orphaned shipment)"),
    "voided_label_note_active": (OPERATIONS, "a voided label's Delivery Note is still active"),
    "over_shipment": (OPERATIONS, "the order's live labels ship more of a line than was ordered"),
    "shipped_without_note": (OPERATIONS, "the order is shipped in ShipStation but has no Delivery Note"),
    "cancelled_voucher_active": (FINANCE, "the order is cancelled in ShipStation but its voucher is active"),
    "stock_drift": (OPERATIONS, "Tally's closing stock differs from ShipStation's on-hand count"),
    "sync_failed": (OPERATIONS, "the sync ledger holds a failed record"),
    "sync_stuck_pending": (OPERATIONS, "the sync ledger holds a write left pending by a run that is gone"),
    "shipping_cost_variance": (FINANCE, "the label cost differs from the shipping the customer paid"),
    "in_transit_at_month_end": (OPERATIONS, "the order of the month shipped after the month closed: listed, "
                                            "not an exception; its Delivery Note belongs to the next month"),
}

# Categories the report lists apart: they are not exceptions (period cut-off), and need no one's action.
NOTICES = ("in_transit_at_month_end",)

# Categories that say an order's voucher does not agree with it: an order with none of them is matched.
ORDER_CATEGORIES = ("order_without_voucher", "duplicate_vouchers", "amount_mismatch", "quantity_mismatch",
                    "customer_mismatch", "date_mismatch", "cancelled_voucher_active")
