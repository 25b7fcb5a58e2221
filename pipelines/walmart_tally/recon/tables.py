"""The Walmart ↔ TallyPrime pack's snapshot tables and exception categories.

`day` is the business date in the books' time zone: an order's order date, a return's return date,
a voucher's date, a settlement's report date. `ext_key` is our marker on a Tally voucher (`wm-po-<PO>`,
`wm-rma-<RMA>-<PO>`, `wm-settle-<report date>-…`), read from the narration.
"""

from __future__ import annotations

from pipelines.reconciliation.pack import FINANCE, OPERATIONS

SNAPSHOTS: dict[str, str] = {
    "recon_wt_orders": """day DATE NOT NULL, purchase_order_id VARCHAR NOT NULL, customer VARCHAR,
        order_total DECIMAL(18, 2), cancelled BOOLEAN, fetched_at TIMESTAMPTZ NOT NULL""",
    "recon_wt_returns": """day DATE NOT NULL, return_order_id VARCHAR NOT NULL, purchase_order_id VARCHAR,
        refund_total DECIMAL(18, 2), refunded BOOLEAN, fetched_at TIMESTAMPTZ NOT NULL""",
    "recon_wt_vouchers": """day DATE NOT NULL, voucher_type VARCHAR NOT NULL, master_id BIGINT, ext_key VARCHAR,
        party VARCHAR, amount DECIMAL(18, 2), bank_amount DECIMAL(18, 2), cancelled BOOLEAN,
        fetched_at TIMESTAMPTZ NOT NULL""",
    "recon_wt_settlements": """day DATE NOT NULL, report_date VARCHAR NOT NULL, payout DECIMAL(18, 2),
        posted_total DECIMAL(18, 2), status VARCHAR, error VARCHAR, fetched_at TIMESTAMPTZ NOT NULL""",
    "recon_wt_settlement_types": """day DATE NOT NULL, report_date VARCHAR NOT NULL, transaction_type VARCHAR,
        amount_type VARCHAR, target VARCHAR, lines BIGINT, amount DECIMAL(18, 2)""",
}

CATEGORIES: dict[str, tuple[str, str]] = {
    "order_without_sales": (FINANCE, "a Walmart purchase order has no active Sales voucher in Tally"),
    "sales_without_order": (FINANCE, "a Walmart Sales voucher in Tally matches no Walmart purchase order"),
    "amount_mismatch": (FINANCE, "the Sales voucher's total differs from the purchase order's"),
    "return_without_credit_note": (FINANCE, "a refunded Walmart return has no active Credit Note"),
    "settlement_mismatch": (FINANCE, "a settlement's posted total differs from the payout, or it is held back"),
    "fee_type_uncoded": (FINANCE, "a settlement line type is coded to no ledger (WALMART_SETTLEMENT_CODES)"),
    "sync_failed": (OPERATIONS, "the sync ledger holds a failed Walmart record"),
}
