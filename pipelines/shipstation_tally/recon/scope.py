"""The working set of a range of reconciliation days: every record the range's rules look at, at its latest snapshot.

A record (order, label, voucher) may have been snapshotted on several days; only its newest snapshot
(max `fetched_at`) counts, and the record belongs to that snapshot's `day`. The set is what the days
`$first` to `$last` touch: their own orders, labels and vouchers, the orders of their labels, every label
of those orders, and every voucher carrying the key of one of them, whatever day it is dated; `of_day`
says a record's own day is one of the range's. Each table is built with a semi-join on the snapshot
tables, so its size follows the range, not the history. Vouchers are identified by MasterId; a
voucher's lines are those of its newest snapshot. A range gives each day exactly what reconciling
that day alone gives: every rule places its row on the day of the record it is about.

The pack's measures count one day at a time, from `_r_day_counts`: each day's counts, taken in one
grouped pass over the range's tables (a row a day of `_r_days`).

Temporary tables, views and macros, all prefixed `_r_`, live only in the calling connection; the engine's
macros (`_r_money`, `_r_qty`, `_r_name`, `_r_age`), `_r_days` (the range's days) and `_r_ledger` (the
ledger entries of this pair's flows) are there.
"""
from __future__ import annotations

from pipelines.reconciliation.sqlkit import drop_older

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


def _key_id(prefix: str) -> str:
    """The id in `ext_key` after `prefix`, as BIGINT; NULL unless the rest is one or more ASCII digits."""
    rest = f"substr(ext_key, {len(prefix) + 1})"
    return f"CASE WHEN regexp_full_match(ext_key, '{prefix}[0-9]+') THEN TRY_CAST({rest} AS BIGINT) END"


SCOPE: list[str] = [
    """CREATE OR REPLACE TEMP TABLE _r_range_orders AS
    SELECT o.order_id, o.order_number, o.order_status, o.customer, o.order_total, o.shipping_amount, o.day,
        o.ship_date, o.day BETWEEN $first AND $last AS of_day,
        lower(coalesce(o.order_status, '')) = 'cancelled' AS cancelled, o.fetched_at
    FROM recon_ss_orders o
    WHERE o.order_id IN (SELECT order_id FROM recon_ss_orders WHERE day BETWEEN $first AND $last
        UNION ALL
        SELECT order_id FROM recon_ss_shipments WHERE day BETWEEN $first AND $last AND order_id IS NOT NULL)""",
    drop_older("_r_range_orders", "order_id"),

    # The order lines the rules compare (adjustment lines are not goods), with the order's day.
    """CREATE OR REPLACE TEMP TABLE _r_order_lines AS
    SELECT l.order_id, o.day, l.line_key, l.sku, l.quantity
    FROM recon_ss_order_lines l JOIN _r_range_orders o ON l.order_id = o.order_id AND l.day = o.day
    WHERE NOT coalesce(l.adjustment, false)""",

    """CREATE OR REPLACE TEMP TABLE _r_range_ships AS
    SELECT s.shipment_id, s.order_id, s.order_number, s.day, s.void_date, s.shipment_cost, s.tracking_number,
        s.day BETWEEN $first AND $last AS of_day, NOT coalesce(s.voided, false) AS live, s.fetched_at
    FROM recon_ss_shipments s
    WHERE s.shipment_id IN (
        SELECT shipment_id FROM recon_ss_shipments
        WHERE day BETWEEN $first AND $last OR order_id IN (SELECT order_id FROM _r_range_orders))""",
    drop_older("_r_range_ships", "shipment_id"),

    # A view: _r_over alone reads it (all lines once, then the suspect orders' lines), so it is never held.
    """CREATE OR REPLACE TEMP VIEW _r_ship_lines AS
    SELECT l.shipment_id, s.order_id, l.line_key, l.sku, l.quantity, s.live, s.day
    FROM recon_ss_shipment_lines l JOIN _r_range_ships s ON l.shipment_id = s.shipment_id AND l.day = s.day""",

    # `_r_over`, for over_shipment and shipment_without_note: order lines the order's live labels (any day) ship
    # more of than was ordered. A label's line is the order line with its line key, else the order's line of the
    # same SKU (as delivery.py matches them). Only the orders that can be over-shipped are mapped line by line:
    # those with a line whose labels' lines of the same line key ship more than it orders, or with a label line
    # matched by SKU (its key matches no line).
    """CREATE OR REPLACE TEMP TABLE _r_over AS
    WITH keyed AS (  -- a suspect is only mapped, never reported as it is: more suspects cost time, not results
        SELECT order_id, line_key, bool_or(is_order) AS has_order, bool_or(NOT is_order) AS has_label,
            sum(quantity) AS unshipped
        FROM (SELECT order_id, line_key, quantity, true AS is_order FROM _r_order_lines
              UNION ALL
              SELECT order_id, line_key, -quantity, false FROM _r_ship_lines WHERE live AND order_id IS NOT NULL)
        GROUP BY order_id, line_key),
    suspect AS (
        SELECT DISTINCT order_id FROM keyed
        WHERE has_label AND (unshipped < 0 OR NOT has_order OR line_key IS NULL)),
    ordered AS (
        SELECT order_id, line_key, min(sku) AS sku, sum(quantity) AS quantity
        FROM _r_order_lines WHERE order_id IN (SELECT order_id FROM suspect) GROUP BY ALL),
    by_sku AS (SELECT order_id, sku, min(line_key) AS line_key FROM ordered GROUP BY ALL),
    mapped AS (
        SELECT l.order_id, l.shipment_id, l.quantity, l.day, coalesce(k.line_key, b.line_key) AS line_key
        FROM _r_ship_lines l
        LEFT JOIN ordered k ON k.order_id = l.order_id AND k.line_key = l.line_key
        LEFT JOIN by_sku b ON b.order_id = l.order_id AND b.sku = l.sku
        WHERE l.live AND l.order_id IN (SELECT order_id FROM suspect)),
    shipped AS (SELECT order_id, line_key, sum(quantity) AS quantity, max(day) AS last_day FROM mapped GROUP BY ALL),
    over AS (
        SELECT s.order_id, s.line_key, coalesce(d.sku, s.line_key) AS line, d.quantity AS ordered,
            s.quantity AS shipped, s.last_day
        FROM shipped s JOIN ordered d USING (order_id, line_key) WHERE s.quantity > d.quantity)
    SELECT v.order_id, v.line, v.ordered, v.shipped, v.last_day,
        string_agg(DISTINCT m.shipment_id::VARCHAR, ', ' ORDER BY m.shipment_id::VARCHAR) AS labels
    FROM over v JOIN mapped m USING (order_id, line_key)
    GROUP BY v.order_id, v.line_key, v.line, v.ordered, v.shipped, v.last_day""",

    # The vouchers dated in the range or keyed to one of its orders or labels, in two steps: as one statement
    # DuckDB builds its hash table on the whole voucher table, and spills. A key is matched only in its exact
    # form (`ss-order-` and the id as written by us), so as a string: each voucher's key probes the keys of the
    # range's orders and labels. The ids are not made distinct: the semi-join below needs no distinct build side,
    # and a voucher is nearly always snapshotted once (a DISTINCT was a hash aggregate of every id).
    """CREATE OR REPLACE TEMP TABLE _r_voucher_ids AS
    SELECT master_id FROM recon_tally_vouchers WHERE day BETWEEN $first AND $last
        OR ext_key IN (SELECT 'ss-order-' || order_id FROM _r_range_orders WHERE of_day
                       UNION ALL SELECT 'ss-shipment-' || shipment_id FROM _r_range_ships)""",

    # Narrow (at a million orders a month the working set outgrows the staging store's memory and pages to disk):
    # the voucher type as two flags, the party of order vouchers only, and no number or reference. The orphan
    # rules, the only ones that print those, read them back from the voucher's snapshot row (`snapshot_row`).
    f"""CREATE OR REPLACE TEMP TABLE _r_range_vouchers AS
    SELECT v.master_id, v.day, v.voucher_type = $order_type AS is_order, v.voucher_type = $note_type AS is_note,
        CASE WHEN v.voucher_type = $order_type THEN v.party END AS party, v.amount,
        NOT coalesce(v.cancelled, false) AS active, v.day BETWEEN $first AND $last AS of_day,
        CASE WHEN v.voucher_type = $order_type THEN {_key_id('ss-order-')} END AS order_id,
        CASE WHEN v.voucher_type = $note_type THEN {_key_id('ss-shipment-')} END AS shipment_id,
        v.fetched_at, v.rowid AS snapshot_row
    FROM recon_tally_vouchers v SEMI JOIN _r_voucher_ids USING (master_id)
    WHERE v.voucher_type IN ($order_type, $note_type)""",
    drop_older("_r_range_vouchers", "master_id"),
    "DROP TABLE _r_voucher_ids",

    # SKU -> stock item as of each day: the mapping of the latest snapshot day on or before it, else the nearest
    # after (the first); of two items on one snapshot day, the first by name.
    """CREATE OR REPLACE TEMP TABLE _r_sku_items AS
    WITH snaps AS (SELECT sku, day AS snapped, min(stock_item) AS stock_item FROM recon_sku_items GROUP BY ALL),
    firsts AS (SELECT sku, arg_min(stock_item, snapped) AS stock_item FROM snaps GROUP BY sku)
    SELECT d.day, f.sku, coalesce(s.stock_item, f.stock_item) AS stock_item
    FROM _r_days d CROSS JOIN firsts f ASOF LEFT JOIN snaps s ON s.sku = f.sku AND s.snapped <= d.day""",

    # Where the two sides' quantities of an order's item differ (summed per order and item; lines of an unknown
    # item stay apart, a side each): one pass over the order lines and the lines of the active order vouchers, run
    # while little else is held; the order lines go after it. `quantity_mismatch` reports the orders with one voucher.
    """CREATE OR REPLACE TEMP TABLE _r_qty_differ AS
    WITH lines AS (
        SELECT l.order_id, coalesce(m.stock_item, l.sku) AS item, l.quantity AS ordered, NULL AS posted
        FROM _r_order_lines l LEFT JOIN _r_sku_items m ON m.day = l.day AND m.sku = l.sku WHERE l.quantity <> 0
        UNION ALL
        SELECT v.order_id, l.stock_item, NULL, abs(l.quantity)
        FROM recon_tally_voucher_lines l JOIN _r_range_vouchers v ON l.master_id = v.master_id AND l.day = v.day
        WHERE v.order_id IS NOT NULL AND v.active AND l.quantity <> 0)
    SELECT order_id, item, sum(ordered) AS ordered, sum(posted) AS posted FROM lines
    GROUP BY order_id, item, CASE WHEN item IS NULL THEN posted IS NULL END
    HAVING sum(ordered) IS DISTINCT FROM sum(posted)""",
    "DROP TABLE _r_order_lines",

    # Each order of the range with its active order vouchers (any day) and its ledger entry. `master_id` is the
    # lowest active one; the MasterIds are listed (`several_ids`) only where an order has several.
    f"""CREATE OR REPLACE TEMP TABLE _r_match AS
    WITH v AS (
        SELECT order_id, count(*) FILTER (WHERE active) AS active, min(master_id) FILTER (WHERE active) AS master_id,
            sum(abs(amount)) FILTER (WHERE active) AS voucher_total,
            min(master_id) FILTER (WHERE NOT active) AS cancelled_master_id,
            -- the fields of the order's only active voucher, where it has one (any_value of one row is its value)
            any_value(amount) FILTER (WHERE active) AS one_amount, any_value(party) FILTER (WHERE active) AS one_party,
            any_value(day) FILTER (WHERE active) AS one_day
        FROM _r_range_vouchers WHERE order_id IS NOT NULL GROUP BY order_id),
    several AS (
        SELECT order_id, string_agg(master_id::VARCHAR, ', ' ORDER BY master_id) AS master_ids
        FROM _r_range_vouchers WHERE active AND order_id IN (SELECT order_id FROM v WHERE active > 1)
        GROUP BY order_id)
    SELECT o.order_id, o.order_number, o.day, o.customer, o.order_total, o.cancelled,
        coalesce(v.active, 0) AS active, v.master_id,
        several.master_ids AS several_ids,
        v.voucher_total, v.cancelled_master_id, CASE WHEN v.active = 1 THEN v.one_amount END AS voucher_amount,
        CASE WHEN v.active = 1 THEN v.one_party END AS party, CASE WHEN v.active = 1 THEN v.one_day END AS voucher_day,
        l.state, l.target_id AS posted_id, _r_why(l.state, l.last_error, l.stuck) AS why
    FROM _r_range_orders o LEFT JOIN v USING (order_id) LEFT JOIN several USING (order_id)
    LEFT JOIN _r_ledger l ON l.flow = '{ORDERS_FLOW}' AND l.source_id = o.order_id::VARCHAR
    WHERE o.of_day""",

    # Each label in the working set with its active Delivery Notes and its ledger entry (MasterIds as in _r_match).
    f"""CREATE OR REPLACE TEMP TABLE _r_labels AS
    WITH v AS (
        SELECT shipment_id, count(*) AS notes, min(master_id) AS master_id FROM _r_range_vouchers
        WHERE active AND shipment_id IS NOT NULL GROUP BY shipment_id),
    several AS (
        SELECT shipment_id, string_agg(master_id::VARCHAR, ', ' ORDER BY master_id) AS master_ids
        FROM _r_range_vouchers WHERE active AND shipment_id IN (SELECT shipment_id FROM v WHERE notes > 1)
        GROUP BY shipment_id)
    SELECT s.shipment_id, s.order_id, s.order_number, s.day, s.of_day, s.live, s.void_date, s.tracking_number,
        coalesce(v.notes, 0) AS notes,
        v.master_id, several.master_ids AS several_ids,
        l.state, l.last_error, _r_why(l.state, l.last_error, l.stuck) AS why
    FROM _r_range_ships s LEFT JOIN v USING (shipment_id) LEFT JOIN several USING (shipment_id)
    LEFT JOIN _r_ledger l ON l.flow = '{SHIPMENTS_FLOW}' AND l.source_id = s.shipment_id::VARCHAR""",

    # What each day of the range counts, for the pack's measures (pack.py): one pass over each table, grouped by day.
    """CREATE OR REPLACE TEMP TABLE _r_day_counts AS
    WITH orders AS (
        SELECT day, count(*) AS orders, sum(order_total) FILTER (WHERE NOT cancelled) AS order_total
        FROM _r_range_orders WHERE of_day GROUP BY day),
    vouchers AS (
        SELECT day, count(*) FILTER (WHERE is_order) AS vouchers,
            sum(abs(amount)) FILTER (WHERE is_order) AS voucher_amount,
            count(*) FILTER (WHERE is_note) AS delivery_notes
        FROM _r_range_vouchers WHERE of_day AND active GROUP BY day),
    ships AS (SELECT day, count(*) AS shipments FROM _r_range_ships WHERE of_day AND live GROUP BY day),
    matches AS (
        SELECT day, count(*) FILTER (WHERE cancelled AND active = 0) AS orders_cancelled,
            count(*) FILTER (WHERE NOT cancelled AND active = 0 AND state = 'failed') AS orders_failed,
            count(*) FILTER (WHERE NOT cancelled AND active = 0 AND state IN ('waiting', 'pending', 'skipped'))
                AS orders_waiting
        FROM _r_match GROUP BY day)
    SELECT * FROM _r_days LEFT JOIN orders USING (day) LEFT JOIN vouchers USING (day) LEFT JOIN ships USING (day)
        LEFT JOIN matches USING (day)""",
]
