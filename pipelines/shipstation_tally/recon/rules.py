"""One SQL statement per exception rule, over the day's working set (see scope.py).

Each statement inserts rows BY NAME into `_r_exc`; a column a rule leaves out is NULL. `difference`
is target minus source, a missing side counting as zero; for quantity rules and stock the "amounts"
are quantities, and a date mismatch's difference is in days. A record gets a category at most once:
an order's voucher is compared field by field only when it has exactly one active voucher (else
`duplicate_vouchers` says it all), a shipped order is `shipped_without_note` only when no live label
carries the exception itself, and a label the sync held back as an over-shipment is reported as
`over_shipment`, not also as missing its Delivery Note. `explained` is true when the sync ledger
records the cause, or for a variance line.
"""

from __future__ import annotations

from pipelines.shipstation_tally.recon.scope import ORDERS_FLOW, SHIPMENTS_FLOW

OVER_SHIPMENT = "over-shipment"  # pipelines/shipstation_tally/shipments.py marks the held-back note's error so

_INSERT = "INSERT INTO _r_exc BY NAME "
_ORDER = "day, 'shipstation' AS source_system, order_id::VARCHAR AS source_id, 'tally' AS target_system"
_LABEL = "coalesce(nullif(order_number, ''), 'orderId ' || order_id)"
_KNOWN = "why IS NOT NULL AS explained, why AS explanation"
_IDS = "coalesce(several_ids, master_id::VARCHAR)"  # a record's active vouchers' MasterIds (scope.py lists several)

ORDER_RULES: list[str] = [
    _INSERT + f"""SELECT 'order_without_voucher' AS category, order_number, {_ORDER},
        coalesce(cancelled_master_id::VARCHAR, posted_id) AS target_id, order_total AS source_amount,
        -order_total AS difference, {_KNOWN},
        CASE WHEN cancelled_master_id IS NOT NULL
                THEN format('Order {{}} totals {{}} in ShipStation, but its {{}} in Tally (MasterId {{}}) is cancelled',
                            {_LABEL}, _r_money(order_total), $order_type, cancelled_master_id)
             WHEN state = 'posted' AND posted_id IS NOT NULL
                THEN format('Order {{}} totals {{}} in ShipStation, but the {{}} ml-connector posted for it '
                            '(MasterId {{}}) is no longer in Tally: deleted there by hand?',
                            {_LABEL}, _r_money(order_total), $order_type, posted_id)
             ELSE format('Order {{}} totals {{}} in ShipStation but has no {{}} in Tally',
                         {_LABEL}, _r_money(order_total), $order_type) END AS reason
    FROM _r_match WHERE NOT cancelled AND active = 0""",

    _INSERT + f"""SELECT 'duplicate_vouchers' AS category, order_number, {_ORDER}, {_IDS} AS target_id,
        order_total AS source_amount, voucher_total AS target_amount, voucher_total - order_total AS difference,
        false AS explained,
        format('Order {{}} ({{}}) has {{}} active {{}}s in Tally (MasterIds {{}}) adding up to {{}}; '
               'it should have one',
               {_LABEL}, _r_money(order_total), active, $order_type, {_IDS}, _r_money(voucher_total)) AS reason
    FROM _r_match WHERE NOT cancelled AND active > 1""",

    _INSERT + f"""SELECT 'amount_mismatch' AS category, order_number, {_ORDER}, master_id::VARCHAR AS target_id,
        order_total AS source_amount, abs(voucher_amount) AS target_amount,
        abs(voucher_amount) - order_total AS difference, {_KNOWN},
        format('Order {{}} totals {{}} in ShipStation but its {{}} in Tally (MasterId {{}}) says {{}}',
               {_LABEL}, _r_money(order_total), $order_type, master_id, _r_money(abs(voucher_amount))) AS reason
    FROM _r_match WHERE NOT cancelled AND active = 1 AND order_total IS NOT NULL
        AND order_total IS DISTINCT FROM abs(voucher_amount)""",

    _INSERT + f"""SELECT 'customer_mismatch' AS category, order_number, {_ORDER}, master_id::VARCHAR AS target_id,
        {_KNOWN},
        format('Order {{}} is for "{{}}" in ShipStation but its {{}} in Tally (MasterId {{}}) is made out to {{}}',
               {_LABEL}, customer, $order_type, master_id, coalesce('"' || party || '"', 'no party')) AS reason
    FROM _r_match WHERE NOT cancelled AND active = 1 AND customer IS NOT NULL
        AND customer IS DISTINCT FROM party AND _r_name(customer) IS DISTINCT FROM _r_name(party)""",

    _INSERT + f"""SELECT 'date_mismatch' AS category, order_number, {_ORDER}, master_id::VARCHAR AS target_id,
        datediff('day', day, voucher_day) AS difference, {_KNOWN},
        format('Order {{}} is dated {{}} in ShipStation but its {{}} in Tally (MasterId {{}}) is dated {{}}',
               {_LABEL}, day, $order_type, master_id, voucher_day) AS reason
    FROM _r_match WHERE NOT cancelled AND active = 1 AND voucher_day <> day""",

    _INSERT + f"""SELECT 'cancelled_voucher_active' AS category, order_number, {_ORDER}, {_IDS} AS target_id,
        voucher_total AS target_amount, voucher_total AS difference, {_KNOWN},
        format('Order {{}} is cancelled in ShipStation but its {{}} in Tally (MasterId {{}}, {{}}) is still active',
               {_LABEL}, $order_type, {_IDS}, _r_money(voucher_total)) AS reason
    FROM _r_match WHERE cancelled AND active > 0""",

    # Only orders none of whose labels is live or has a note can qualify: their labels alone are summed up.
    _INSERT + """WITH unshipped AS (
        SELECT * FROM _r_range_orders WHERE of_day AND lower(order_status) = 'shipped' AND order_id NOT IN (
            SELECT order_id FROM _r_labels WHERE (live OR notes > 0) AND order_id IS NOT NULL)),
    labels AS (
        SELECT order_id, count(*) AS labels, count(*) FILTER (WHERE live) AS live, sum(notes) AS notes,
            bool_or(why IS NOT NULL) AS known, string_agg(why, '; ') AS why
        FROM _r_labels WHERE order_id IN (SELECT order_id FROM unshipped) GROUP BY order_id)
    SELECT CASE WHEN late THEN 'in_transit_at_month_end' ELSE 'shipped_without_note' END AS category, o.day,
        o.order_number, 'shipstation' AS source_system, o.order_id::VARCHAR AS source_id, 'tally' AS target_system,
        late OR coalesce(l.known, false) AS explained,
        CASE WHEN late THEN 'period cut-off: shipped after the month closed' ELSE l.why END AS explanation,
        CASE WHEN late THEN format('Order {} of {} shipped on {}, after the month closed: in transit at month-end; '
                                   'its label and {} belong to {}',
                                   coalesce(nullif(o.order_number, ''), 'orderId ' || o.order_id),
                                   strftime(o.day, '%B %Y'), o.ship_date, $note_type,
                                   strftime(o.ship_date, '%B %Y'))
        ELSE format('Order {} is shipped in ShipStation but {} and Tally has no {} for it',
               coalesce(nullif(o.order_number, ''), 'orderId ' || o.order_id),
               CASE WHEN coalesce(l.labels, 0) = 0 THEN 'it has no shipping label there'
                    ELSE 'all its labels are voided' END, $note_type) END AS reason
    FROM unshipped o LEFT JOIN labels l USING (order_id),
    LATERAL (SELECT o.ship_date IS NOT NULL AND o.ship_date > last_day(o.day) AND coalesce(l.labels, 0) = 0 AS late)
    WHERE coalesce(l.live, 0) = 0 AND coalesce(l.notes, 0) = 0""",
]

# The differing quantities (scope.py's `_r_qty_differ`) of the orders with exactly one active voucher.
QUANTITY_RULE = _INSERT + """SELECT 'quantity_mismatch' AS category, one.day, one.order_number,
        'shipstation' AS source_system, one.order_id::VARCHAR AS source_id, 'tally' AS target_system,
        one.master_id::VARCHAR AS target_id, coalesce(d.ordered, 0) AS source_amount,
        coalesce(d.posted, 0) AS target_amount, coalesce(d.posted, 0) - coalesce(d.ordered, 0) AS difference,
        one.why IS NOT NULL AS explained, one.why AS explanation,
        format('Order {} has {} of {} in ShipStation but its {} in Tally (MasterId {}) has {}',
               coalesce(nullif(one.order_number, ''), 'orderId ' || one.order_id), _r_qty(d.ordered),
               coalesce(d.item, 'an item without a name'), $order_type, one.master_id, _r_qty(d.posted)) AS reason
    FROM _r_qty_differ d JOIN _r_match one ON one.order_id = d.order_id AND NOT one.cancelled AND one.active = 1"""

LABEL_RULES: list[str] = [
    # A label the sync held back as an over-shipment is reported by over_shipment while its order is over-shipped.
    _INSERT + f"""SELECT 'shipment_without_note' AS category, day, order_number, 'shipstation' AS source_system,
        shipment_id::VARCHAR AS source_id, 'tally' AS target_system, {_KNOWN},
        format('Label {{}} of order {{}}{{}} shipped on {{}} in ShipStation but has no {{}} in Tally',
               shipment_id, {_LABEL}, coalesce(' (tracking ' || tracking_number || ')', ''), day, $note_type) AS reason
    FROM _r_labels WHERE of_day AND live AND notes = 0
        AND NOT (state = 'failed' AND coalesce(contains(last_error, '{OVER_SHIPMENT}'), false)
                 AND order_id IN (SELECT order_id FROM _r_over))""",

    _INSERT + f"""SELECT 'voided_label_note_active' AS category, day, order_number, 'shipstation' AS source_system,
        shipment_id::VARCHAR AS source_id, 'tally' AS target_system, {_IDS} AS target_id, {_KNOWN},
        format('Label {{}} of order {{}} was voided in ShipStation{{}} but its {{}} in Tally (MasterId {{}}) '
               'is still active',
               shipment_id, {_LABEL}, coalesce(' on ' || strftime(void_date, '%Y-%m-%d'), ''), $note_type,
               {_IDS}) AS reason
    FROM _r_labels WHERE of_day AND NOT live AND notes > 0""",

    # Placed on the day of the latest live label shipping the line, so a month counts each order line once.
    _INSERT + f"""WITH flagged AS (
        SELECT group_key, min(last_error) AS why FROM _r_ledger
        WHERE flow = '{SHIPMENTS_FLOW}' AND state = 'failed' AND contains(last_error, '{OVER_SHIPMENT}')
        GROUP BY group_key)
    SELECT 'over_shipment' AS category, v.last_day AS day, o.order_number, 'shipstation' AS source_system,
        o.order_id::VARCHAR AS source_id, 'shipstation' AS target_system, v.labels AS target_id,
        v.ordered AS source_amount, v.shipped AS target_amount, v.shipped - v.ordered AS difference,
        f.why IS NOT NULL AS explained, f.why AS explanation,
        format('Order {{}} ordered {{}} of {{}} but its live labels ({{}}) ship {{}}',
               coalesce(nullif(o.order_number, ''), 'orderId ' || o.order_id), _r_qty(v.ordered), v.line, v.labels,
               _r_qty(v.shipped)) AS reason
    FROM _r_over v JOIN _r_range_orders o USING (order_id) LEFT JOIN flagged f ON f.group_key = o.order_id::VARCHAR
    WHERE v.last_day BETWEEN $first AND $last""",

    # A variance line, never an error: what the labels cost against what the customer paid for shipping.
    _INSERT + """WITH cost AS (
        SELECT order_id, sum(shipment_cost) AS cost, max(day) AS last_day FROM _r_range_ships WHERE live
        GROUP BY order_id),
    varied AS (
        SELECT c.*, o.order_number, o.shipping_amount FROM cost c JOIN _r_range_orders o USING (order_id)
        WHERE c.last_day BETWEEN $first AND $last AND c.cost IS NOT NULL
            AND abs(c.cost - coalesce(o.shipping_amount, 0)) > $cost_tolerance),
    listed AS (
        SELECT order_id, string_agg(shipment_id::VARCHAR, ', ' ORDER BY shipment_id) AS labels FROM _r_range_ships
        WHERE live AND order_id IN (SELECT order_id FROM varied) GROUP BY order_id),
    c AS (SELECT * FROM varied JOIN listed USING (order_id))
    SELECT 'shipping_cost_variance' AS category, c.last_day AS day, c.order_number, 'shipstation' AS source_system,
        c.order_id::VARCHAR AS source_id, 'shipstation' AS target_system, c.labels AS target_id,
        coalesce(c.shipping_amount, 0) AS source_amount, c.cost AS target_amount,
        c.cost - coalesce(c.shipping_amount, 0) AS difference, true AS explained,
        'a variance, not an error: label costs are not what the customer was charged' AS explanation,
        format('Order {} charged the customer {} for shipping; its labels ({}) cost {} ({} {})',
               coalesce(nullif(c.order_number, ''), 'orderId ' || c.order_id),
               _r_money(coalesce(c.shipping_amount, 0)), c.labels, _r_money(c.cost),
               _r_money(abs(c.cost - coalesce(c.shipping_amount, 0))),
               CASE WHEN c.cost > coalesce(c.shipping_amount, 0) THEN 'more' ELSE 'less' END) AS reason
    FROM c""",
]

def _unmatched(key: str, kind: str, working: str, snapshots: str) -> str:
    """The day's active vouchers of a `kind` (`is_order`, `is_note`) whose `key` is NULL or in no snapshot of its
    record, with their snapshot row's number, reference and party (a query).

    The working set's records (`working`) answer for nearly all; only the other keys are looked up in `snapshots`.
    A snapshot row rewritten since the working set was read (a day re-snapshotted meanwhile) leaves the orphan
    listed, without its number and party, rather than lost.
    """
    return f"""(WITH loose AS (
        SELECT * FROM _r_range_vouchers v WHERE v.of_day AND v.active AND v.{kind}
            AND (v.{key} IS NULL OR v.{key} NOT IN (SELECT {key} FROM {working} WHERE {key} IS NOT NULL))),
    orphans AS (
        SELECT * FROM loose WHERE {key} IS NULL OR {key} NOT IN (
            SELECT {key} FROM {snapshots} WHERE {key} IN (SELECT {key} FROM loose)))
    SELECT o.* EXCLUDE (party), s.voucher_number, s.reference, s.party
    FROM orphans o LEFT JOIN recon_tally_vouchers s ON s.master_id = o.master_id AND s.rowid = o.snapshot_row)"""


ORPHAN_RULES: list[str] = [
    _INSERT + """SELECT 'voucher_without_order' AS category, v.day,
        coalesce(v.reference, v.voucher_number) AS order_number,
        'tally' AS target_system, v.master_id::VARCHAR AS target_id, abs(v.amount) AS target_amount,
        abs(v.amount) AS difference, false AS explained,
        format('{} {} in Tally (MasterId {}, {}, {}) {}', $order_type, coalesce(v.voucher_number, 'without a number'),
               v.master_id, coalesce(v.party, 'no party'), _r_money(abs(v.amount)),
               CASE WHEN v.order_id IS NULL
                    THEN 'carries no ml-connector key: it was made or edited outside ml-connector'
                    ELSE 'is keyed to ShipStation order ' || v.order_id
                         || ', but no such order was read from ShipStation' END)
            AS reason
    FROM """ + _unmatched("order_id", "is_order", "_r_range_orders", "recon_ss_orders")
    + " v ORDER BY v.master_id",

    _INSERT + """SELECT 'note_without_shipment' AS category, v.day,
        coalesce(v.reference, v.voucher_number) AS order_number,
        'tally' AS target_system, v.master_id::VARCHAR AS target_id, false AS explained,
        format('{} {} in Tally (MasterId {}, {}) {}', $note_type, coalesce(v.voucher_number, 'without a number'),
               v.master_id, coalesce(v.party, 'no party'),
               CASE WHEN v.shipment_id IS NULL
                    THEN 'carries no ml-connector key: it was made or edited outside ml-connector'
                    ELSE 'is keyed to ShipStation label ' || v.shipment_id
                         || ', but no such label was read from ShipStation' END)
            AS reason
    FROM """ + _unmatched("shipment_id", "is_note", "_r_range_ships", "recon_ss_shipments")
    + " v ORDER BY v.master_id",
]

# Tally's closing stock of an item against ShipStation's on-hand of the SKUs that resolve to it, same day.
STOCK_RULE = _INSERT + """WITH tally AS (
        SELECT day, stock_item, arg_max(closing_qty, fetched_at) AS quantity FROM recon_tally_stock
        WHERE day BETWEEN $first AND $last GROUP BY ALL),
    counted AS (
        SELECT day, sku, arg_max(on_hand, fetched_at) AS quantity FROM recon_ss_inventory
        WHERE day BETWEEN $first AND $last GROUP BY ALL),
    ss AS (
        SELECT c.day, coalesce(m.stock_item, c.sku) AS stock_item, sum(c.quantity) AS quantity,
            string_agg(c.sku, ', ' ORDER BY c.sku) AS skus
        FROM counted c LEFT JOIN _r_sku_items m USING (day, sku) GROUP BY ALL)
    SELECT 'stock_drift' AS category, t.day, 'shipstation' AS source_system, ss.skus AS source_id,
        'tally' AS target_system, t.stock_item AS target_id, ss.quantity AS source_amount, t.quantity AS target_amount,
        t.quantity - ss.quantity AS difference, false AS explained,
        format('Tally''s closing stock of {} on {} is {} but ShipStation counts {} on hand (SKU {})',
               t.stock_item, t.day, _r_qty(t.quantity), _r_qty(ss.quantity), ss.skus) AS reason
    FROM tally t JOIN ss USING (day, stock_item) WHERE t.quantity IS DISTINCT FROM ss.quantity"""

# The order the pack runs them in. A working table is dropped as soon as its last reader is done: at a million
# orders a month a ten-day working set is about twice the staging store's 128 MB, and what does not fit is paged
# out to disk and back, so the heaviest statements run with less of it held (scope.py drops label lines early).
RULES: list[str] = [
    *ORPHAN_RULES, "DROP TABLE _r_range_vouchers",
    QUANTITY_RULE, *ORDER_RULES, *LABEL_RULES, STOCK_RULE,
]

# Ledger records that are themselves exceptions, on the day of the record they are about (the order's or
# the label's day, so a March order that failed shows in March's report however late it was last tried);
# a record in no snapshot falls on the local day it last changed (failed) or was claimed (stuck).
_RECORD = f"""CASE flow
        WHEN '{SHIPMENTS_FLOW}' THEN 'shipment ' || source_id || coalesce(' of order ' || order_number, '')
        WHEN '{ORDERS_FLOW}' THEN 'order ' || coalesce(order_number || ' (orderId ' || source_id || ')', source_id)
        ELSE flow || ' record ' || source_id END"""



def _placed(state: str, when: str) -> str:
    """`_r_ledger` rows in `state`, with `record_day`: their source record's snapshot day, else `when`'s.

    The snapshots are narrowed by integer id (no cast of every snapshot's id to text); the join on the id as
    text then keeps only a source id in its exact form, as before.
    """
    return f"""WITH held AS (SELECT * FROM _r_ledger WHERE state = '{state}'),
    order_days AS (SELECT order_id::VARCHAR AS source_id, arg_max(day, fetched_at) AS record_day FROM recon_ss_orders
        WHERE order_id IN (SELECT TRY_CAST(source_id AS BIGINT) FROM held WHERE flow = '{ORDERS_FLOW}')
        GROUP BY order_id),
    label_days AS (SELECT shipment_id::VARCHAR AS source_id, arg_max(day, fetched_at) AS record_day
        FROM recon_ss_shipments
        WHERE shipment_id IN (SELECT TRY_CAST(source_id AS BIGINT) FROM held WHERE flow = '{SHIPMENTS_FLOW}')
        GROUP BY shipment_id),
    placed AS (SELECT h.*, coalesce(o.record_day, l.record_day, ({when} AT TIME ZONE $timezone)::DATE) AS record_day
        FROM held h LEFT JOIN order_days o ON h.flow = '{ORDERS_FLOW}' AND o.source_id = h.source_id
        LEFT JOIN label_days l ON h.flow = '{SHIPMENTS_FLOW}' AND l.source_id = h.source_id)
    """


LEDGER_RULES: list[str] = [
    _INSERT + _placed("failed", "updated_at") + f"""
    SELECT 'sync_failed' AS category, record_day AS day, order_number, 'shipstation' AS source_system,
        source_id, 'tally' AS target_system, target_id, last_error IS NOT NULL AS explained,
        'the sync failed: ' || last_error AS explanation,
        format('ml-connector could not write {{}} to Tally: {{}} (last tried {{}} ago)', {_RECORD},
               coalesce(last_error, 'no error recorded'), _r_age(epoch($now) - epoch(updated_at))) AS reason
    FROM placed WHERE record_day BETWEEN $first AND $last""",

    _INSERT + _placed("pending", "coalesce(claimed_at, updated_at)") + f"""
    SELECT 'sync_stuck_pending' AS category, record_day AS day, order_number, 'shipstation' AS source_system,
        source_id, 'tally' AS target_system, target_id, true AS explained,
        'the run that claimed it (' || coalesce(owner, 'unknown') || ') is gone; the next run looks it up in Tally '
            || 'before sending again' AS explanation,
        format('ml-connector started writing {{}} to Tally {{}} ago and the run died before it knew the outcome{{}}',
               {_RECORD}, _r_age(epoch($now) - epoch(coalesce(claimed_at, updated_at))),
               coalesce('; last error: ' || last_error, '')) AS reason
    FROM placed WHERE stuck AND record_day BETWEEN $first AND $last""",
]
