"""The Walmart ↔ TallyPrime working set and rules, one day at a time (`$day`; see reconciliation/pack.py).

Every record counts once, at its newest snapshot. A Sales voucher belongs to PO N when it carries
`wm-po-N`, a Credit Note to return R and PO N when it carries `wm-rma-R-N`, whatever day either is
dated; a cancelled voucher is inert. A settlement's posted total is what Tally's vouchers for it put
into the bank ledger (read back, not our own record), which must be the payout to the cent.
"""

from __future__ import annotations

SALES_FLOW = "walmart_tally.sales"  # pipelines/walmart_tally/posting.py
FLOWS = (SALES_FLOW, "walmart_tally.credit_notes", "walmart_tally.settlement_receipts",
         "walmart_tally.settlement_journals", "walmart_tally.parties")

_INSERT = "INSERT INTO _r_exc BY NAME "
_NEWEST = "QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY fetched_at DESC, day DESC) = 1"

SCOPE: list[str] = [
    f"""CREATE OR REPLACE TEMP TABLE _r_orders AS SELECT * FROM recon_wt_orders
        {_NEWEST.format(key="purchase_order_id")}""",
    f"""CREATE OR REPLACE TEMP TABLE _r_returns AS SELECT * FROM recon_wt_returns
        {_NEWEST.format(key="return_order_id, purchase_order_id")}""",
    f"""CREATE OR REPLACE TEMP TABLE _r_vouchers AS SELECT *, NOT coalesce(cancelled, false) AS active
        FROM recon_wt_vouchers {_NEWEST.format(key="voucher_type, master_id")}""",
    """CREATE OR REPLACE TEMP TABLE _r_sales AS
        SELECT substr(ext_key, 7) AS po, count(*) FILTER (WHERE active) AS active,
            min(master_id) FILTER (WHERE active) AS master_id, sum(amount) FILTER (WHERE active) AS amount
        FROM _r_vouchers WHERE voucher_type = $sales_type AND starts_with(ext_key, 'wm-po-') GROUP BY 1""",
    f"""CREATE OR REPLACE TEMP TABLE _r_settlements AS SELECT * FROM recon_wt_settlements
        {_NEWEST.format(key="report_date")}""",
    """CREATE OR REPLACE TEMP TABLE _r_day_orders AS
        SELECT o.*, coalesce(s.active, 0) AS vouchers, s.master_id, s.amount AS voucher_amount, l.state, l.last_error
        FROM _r_orders o LEFT JOIN _r_sales s ON s.po = o.purchase_order_id
        LEFT JOIN _r_ledger l ON l.flow = '""" + SALES_FLOW + """' AND l.source_id = o.purchase_order_id
        WHERE o.day = $day""",
]

_ORDER = "day, purchase_order_id AS order_number, 'walmart' AS source_system, purchase_order_id AS source_id, " \
         "'tally' AS target_system"

RULES: list[str] = [
    _INSERT + f"""SELECT 'order_without_sales' AS category, {_ORDER}, order_total AS source_amount,
        -order_total AS difference, state IS NOT NULL AND state <> 'posted' AS explained,
        CASE WHEN state IS NOT NULL AND state <> 'posted' THEN 'the sync ' || state || ': '
            || coalesce(last_error, '') END AS explanation,
        format('Walmart PO {{}} totals {{}} but has no {{}} voucher in Tally', purchase_order_id,
               _r_money(order_total), $sales_type) AS reason
    FROM _r_day_orders WHERE NOT coalesce(cancelled, false) AND vouchers = 0""",

    _INSERT + """SELECT 'sales_without_order' AS category, v.day, substr(v.ext_key, 7) AS order_number,
        'walmart' AS source_system, substr(v.ext_key, 7) AS source_id, 'tally' AS target_system,
        v.master_id::VARCHAR AS target_id, v.amount AS target_amount, v.amount AS difference, false AS explained,
        format('{} voucher MasterId {} is for Walmart PO {}, which Walmart does not list', $sales_type,
               v.master_id, substr(v.ext_key, 7)) AS reason
    FROM _r_vouchers v WHERE v.day = $day AND v.active AND v.voucher_type = $sales_type
        AND starts_with(v.ext_key, 'wm-po-')
        AND substr(v.ext_key, 7) NOT IN (SELECT purchase_order_id FROM _r_orders)""",

    _INSERT + f"""SELECT 'amount_mismatch' AS category, {_ORDER}, master_id::VARCHAR AS target_id,
        order_total AS source_amount, voucher_amount AS target_amount, voucher_amount - order_total AS difference,
        false AS explained,
        format('Walmart PO {{}} totals {{}} but its {{}} voucher (MasterId {{}}) says {{}}', purchase_order_id,
               _r_money(order_total), $sales_type, master_id, _r_money(voucher_amount)) AS reason
    FROM _r_day_orders WHERE NOT coalesce(cancelled, false) AND vouchers = 1
        AND order_total IS DISTINCT FROM voucher_amount""",

    _INSERT + """SELECT 'return_without_credit_note' AS category, r.day, r.purchase_order_id AS order_number,
        'walmart' AS source_system, r.return_order_id || ':' || r.purchase_order_id AS source_id,
        'tally' AS target_system, r.refund_total AS source_amount, -r.refund_total AS difference,
        false AS explained,
        format('Walmart return {} of PO {} was refunded {} but has no {} in Tally', r.return_order_id,
               r.purchase_order_id, _r_money(r.refund_total), $credit_note_type) AS reason
    FROM _r_returns r WHERE r.day = $day AND r.refunded AND NOT EXISTS (
        SELECT 1 FROM _r_vouchers v WHERE v.active AND v.voucher_type = $credit_note_type
            AND v.ext_key = 'wm-rma-' || r.return_order_id || '-' || r.purchase_order_id)""",

    _INSERT + """WITH posted AS (
        SELECT regexp_extract(ext_key, '^wm-settle-(.+)-(r[0-9]+|j)$', 1) AS report_date,
            -sum(bank_amount) AS posted FROM _r_vouchers
        WHERE active AND starts_with(ext_key, 'wm-settle-') GROUP BY 1)
    SELECT 'settlement_mismatch' AS category, s.day, s.report_date AS order_number, 'walmart' AS source_system,
        s.report_date AS source_id, 'tally' AS target_system, s.payout AS source_amount,
        coalesce(p.posted, 0) AS target_amount, coalesce(p.posted, 0) - s.payout AS difference,
        s.status = 'held' AS explained, CASE WHEN s.status = 'held' THEN 'held back: ' || s.error END AS explanation,
        format('Walmart settlement {} paid out {} but Tally''s vouchers for it put {} into the bank', s.report_date,
               _r_money(s.payout), _r_money(coalesce(p.posted, 0))) AS reason
    FROM _r_settlements s LEFT JOIN posted p USING (report_date)
    WHERE s.day = $day AND s.payout IS DISTINCT FROM coalesce(p.posted, 0)""",

    _INSERT + """SELECT 'fee_type_uncoded' AS category, t.day, t.report_date AS order_number,
        'walmart' AS source_system, t.report_date || ':' || t.transaction_type || '/' || t.amount_type AS source_id,
        t.amount AS source_amount, false AS explained,
        format('Settlement {}: {} line(s) of {} / {} ({}) are coded to no ledger: add them to '
               'WALMART_SETTLEMENT_CODES', t.report_date, t.lines, t.transaction_type, t.amount_type,
               _r_money(t.amount)) AS reason
    FROM recon_wt_settlement_types t JOIN _r_settlements s ON s.report_date = t.report_date AND s.day = t.day
    WHERE t.day = $day AND t.target IS NULL""",
]

LEDGER_RULES: list[str] = [
    _INSERT + """SELECT 'sync_failed' AS category, (updated_at AT TIME ZONE $timezone)::DATE AS day,
        source_id AS order_number, 'walmart' AS source_system, source_id, 'tally' AS target_system, target_id,
        last_error IS NOT NULL AS explained, 'the sync failed: ' || last_error AS explanation,
        format('ml-connector could not write {} {} to Tally: {}', flow, source_id,
               coalesce(last_error, 'no error recorded')) AS reason
    FROM _r_ledger WHERE state = 'failed' AND (updated_at AT TIME ZONE $timezone)::DATE = $day""",
]
