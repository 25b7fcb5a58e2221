"""The working set of one reconciliation day: every record the day's rules look at, at its latest snapshot.

A record (order, label, voucher) may have been snapshotted on several days; only its newest snapshot
(max `fetched_at`) counts, and the record belongs to that snapshot's `day`. The set is what the day
touches: the day's own orders, labels and vouchers, the orders of the day's labels, every label of
those orders, and every voucher carrying the key of one of them, whatever day it is dated. Each
table is built with a semi-join on the snapshot tables, so its size follows the day, not the month.
Vouchers are identified by MasterId; a voucher's lines are those of its newest snapshot.

Temporary tables and macros, all prefixed `_r_`, live only in the calling connection; the engine's macros
(`_r_money`, `_r_qty`, `_r_name`, `_r_age`) and `_r_ledger` (the ledger entries of this pair's flows) are there.
"""

from __future__ import annotations

ORDERS_FLOW = "shipstation_tally.orders"  # pipelines/shipstation_tally/posting.py FLOW
SHIPMENTS_FLOW = "shipstation_tally.shipments"  # pipelines/shipstation_tally/shipments.py FLOW

# The cause our ledger records for a record that is not in Tally as it should be; NULL = none known.
MACROS = [
    """CREATE OR REPLACE TEMP MACRO _r_why(state, err, stuck) AS CASE
        WHEN state = 'failed' THEN 'the sync failed: ' || coalesce(err, 'no error recorded')
        WHEN state = 'waiting' THEN 'the sync is holding it back: ' || coalesce(err, 'waiting for another record')
        WHEN state = 'skipped' THEN 'the sync skipped it: ' || coalesce(err, 'nothing to send')
        WHEN state = 'pending' AND stuck
            THEN 'a sync run died while writing it; the next run looks it up in Tally before sending again'
        WHEN state = 'pending' THEN 'a sync run is writing it now' END""",
]


SCOPE: list[str] = [
    """CREATE OR REPLACE TEMP TABLE _r_orders AS
    SELECT o.*, o.day = $day AS of_day, lower(coalesce(o.order_status, '')) = 'cancelled' AS cancelled
    FROM recon_ss_orders o
    WHERE o.order_id IN (SELECT order_id FROM recon_ss_orders WHERE day = $day
                         UNION SELECT order_id FROM recon_ss_shipments WHERE day = $day AND order_id IS NOT NULL)
    QUALIFY row_number() OVER (PARTITION BY o.order_id ORDER BY o.fetched_at DESC, o.day DESC) = 1""",

    """CREATE OR REPLACE TEMP TABLE _r_order_lines AS
    SELECT l.order_id, l.line_key, l.sku, l.quantity, l.amount, coalesce(l.adjustment, false) AS adjustment
    FROM recon_ss_order_lines l JOIN _r_orders o ON l.order_id = o.order_id AND l.day = o.day""",

    """CREATE OR REPLACE TEMP TABLE _r_ships AS
    SELECT s.*, s.day = $day AS of_day, NOT coalesce(s.voided, false) AS live
    FROM recon_ss_shipments s
    WHERE s.shipment_id IN (SELECT shipment_id FROM recon_ss_shipments
                            WHERE day = $day OR order_id IN (SELECT order_id FROM _r_orders))
    QUALIFY row_number() OVER (PARTITION BY s.shipment_id ORDER BY s.fetched_at DESC, s.day DESC) = 1""",

    """CREATE OR REPLACE TEMP TABLE _r_ship_lines AS
    SELECT l.shipment_id, s.order_id, l.line_key, l.sku, l.quantity
    FROM recon_ss_shipment_lines l JOIN _r_ships s ON l.shipment_id = s.shipment_id AND l.day = s.day""",

    # In two steps: as one statement DuckDB builds its hash table on the whole voucher table, and spills.
    """CREATE OR REPLACE TEMP TABLE _r_voucher_ids AS
    WITH keys AS (SELECT 'ss-order-' || order_id AS ext_key FROM _r_orders WHERE of_day
                  UNION ALL SELECT 'ss-shipment-' || shipment_id FROM _r_ships)
    SELECT master_id FROM recon_tally_vouchers WHERE day = $day
    UNION SELECT master_id FROM recon_tally_vouchers SEMI JOIN keys USING (ext_key)""",

    """CREATE OR REPLACE TEMP TABLE _r_vouchers AS
    SELECT v.*, NOT coalesce(v.cancelled, false) AS active, v.day = $day AS of_day,
        CASE WHEN v.voucher_type = $order_type
             THEN TRY_CAST(regexp_extract(v.ext_key, '^ss-order-(\\d+)$', 1) AS BIGINT) END AS order_id,
        CASE WHEN v.voucher_type = $note_type
             THEN TRY_CAST(regexp_extract(v.ext_key, '^ss-shipment-(\\d+)$', 1) AS BIGINT) END AS shipment_id
    FROM recon_tally_vouchers v SEMI JOIN _r_voucher_ids USING (master_id)
    WHERE v.voucher_type IN ($order_type, $note_type)
    QUALIFY row_number() OVER (PARTITION BY v.master_id ORDER BY v.fetched_at DESC, v.day DESC) = 1""",

    """CREATE OR REPLACE TEMP TABLE _r_voucher_lines AS
    SELECT l.master_id, l.stock_item, abs(l.quantity) AS quantity
    FROM recon_tally_voucher_lines l JOIN _r_vouchers v ON l.master_id = v.master_id AND l.day = v.day
    WHERE v.order_id IS NOT NULL AND v.active""",

    # SKU -> stock item as of the day: the mapping of the latest snapshot day on or before it, else the nearest after.
    """CREATE OR REPLACE TEMP TABLE _r_sku_items AS
    SELECT sku, stock_item FROM recon_sku_items
    QUALIFY row_number() OVER (PARTITION BY sku
        ORDER BY day <= $day DESC, abs(datediff('day', day, $day)), stock_item) = 1""",

    # Each order of the day with its active order vouchers (any day) and its ledger entry.
    f"""CREATE OR REPLACE TEMP TABLE _r_match AS
    WITH m AS (
        SELECT o.order_id, o.order_number, o.day, o.customer, o.order_total, o.cancelled,
            count(v.master_id) FILTER (WHERE v.active) AS active,
            min(v.master_id) FILTER (WHERE v.active) AS master_id,
            string_agg(v.master_id::VARCHAR, ', ' ORDER BY v.master_id) FILTER (WHERE v.active) AS master_ids,
            sum(abs(v.amount)) FILTER (WHERE v.active) AS voucher_total,
            min(v.master_id) FILTER (WHERE NOT v.active) AS cancelled_master_id
        FROM _r_orders o LEFT JOIN _r_vouchers v ON v.order_id = o.order_id
        WHERE o.of_day GROUP BY ALL)
    SELECT m.*, v.amount AS voucher_amount, v.party, v.day AS voucher_day,
        l.state, l.target_id AS posted_id, _r_why(l.state, l.last_error, l.stuck) AS why
    FROM m LEFT JOIN _r_vouchers v ON m.active = 1 AND v.master_id = m.master_id
    LEFT JOIN _r_ledger l ON l.flow = '{ORDERS_FLOW}' AND l.source_id = m.order_id::VARCHAR""",

    # Each label in the working set with its active Delivery Notes and its ledger entry.
    f"""CREATE OR REPLACE TEMP TABLE _r_labels AS
    WITH s AS (
        SELECT s.shipment_id, s.order_id, s.order_number, s.day, s.of_day, s.live, s.void_date, s.tracking_number,
            count(v.master_id) FILTER (WHERE v.active) AS notes,
            string_agg(v.master_id::VARCHAR, ', ' ORDER BY v.master_id) FILTER (WHERE v.active) AS master_ids
        FROM _r_ships s LEFT JOIN _r_vouchers v ON v.shipment_id = s.shipment_id GROUP BY ALL)
    SELECT s.*, l.state, l.last_error, _r_why(l.state, l.last_error, l.stuck) AS why
    FROM s LEFT JOIN _r_ledger l ON l.flow = '{SHIPMENTS_FLOW}' AND l.source_id = s.shipment_id::VARCHAR""",
]
