"""The pack's working set and rules, one day at a time (`$day`), over the newest snapshot of each record.

An order is matched to invoices by our key in `reference_number`, whatever day either is dated; a
void invoice is inert. A label is matched to its journal by `ss-label-<id>` (per-label journals) or
covered by its day's `ss-labels-<day>` journal (daily); a voided label's journal must have a
`-void` reversal (per label), the day journal of its void date books it back (daily).
"""

from __future__ import annotations

INVOICES_FLOW = "shipstation_zoho.invoices"  # pipelines/shipstation_zoho/posting.py
JOURNALS_FLOW = "shipstation_zoho.journals"
CONTACTS_FLOW = "shipstation_zoho.contacts"

MACROS = [
    """CREATE OR REPLACE TEMP MACRO _r_why(state, err) AS CASE
        WHEN state = 'failed' THEN 'the sync failed: ' || coalesce(err, 'no error recorded')
        WHEN state = 'skipped' THEN 'the sync skipped it: ' || coalesce(err, 'nothing to send')
        WHEN state = 'pending' THEN 'a sync run is writing it (or died writing it: the next run looks it up)' END""",
]

SCOPE = [
    """CREATE OR REPLACE TEMP TABLE _r_orders AS SELECT * FROM recon_sz_orders
    QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY fetched_at DESC, day DESC) = 1""",
    """CREATE OR REPLACE TEMP TABLE _r_invoices AS SELECT *, status <> 'void' AS live,
        CASE WHEN starts_with(reference, 'ss-order-') THEN TRY_CAST(substr(reference, 10) AS BIGINT) END AS order_id
    FROM recon_zb_invoices
    QUALIFY row_number() OVER (PARTITION BY invoice_id ORDER BY fetched_at DESC, day DESC) = 1""",
    """CREATE OR REPLACE TEMP TABLE _r_labels AS SELECT * FROM recon_sz_labels
    QUALIFY row_number() OVER (PARTITION BY shipment_id ORDER BY fetched_at DESC, day DESC) = 1""",
    """CREATE OR REPLACE TEMP TABLE _r_journals AS SELECT * FROM recon_zb_journals
    QUALIFY row_number() OVER (PARTITION BY journal_id ORDER BY fetched_at DESC, day DESC) = 1""",
    f"""CREATE OR REPLACE TEMP TABLE _r_match AS
    WITH v AS (SELECT order_id, count(*) AS live, min(invoice_id) AS invoice_id, sum(total) AS invoiced,
                      string_agg(invoice_number, ', ' ORDER BY invoice_number) AS numbers
               FROM _r_invoices WHERE live AND order_id IS NOT NULL GROUP BY order_id)
    SELECT o.*, lower(coalesce(o.order_status, '')) = 'cancelled' AS cancelled, coalesce(v.live, 0) AS live,
        v.invoice_id, v.invoiced, v.numbers, i.customer_name, l.state, _r_why(l.state, l.last_error) AS why
    FROM _r_orders o LEFT JOIN v USING (order_id) LEFT JOIN _r_invoices i ON v.live = 1 AND i.invoice_id = v.invoice_id
    LEFT JOIN _r_ledger l ON l.flow = '{INVOICES_FLOW}' AND l.source_id = o.order_id::VARCHAR
    WHERE o.day = $day""",
]

_INSERT = "INSERT INTO _r_exc BY NAME "
_ORDER = "'shipstation' AS source_system, order_id::VARCHAR AS source_id, 'zoho_books' AS target_system"
_NAME = "coalesce(nullif(order_number, ''), 'orderId ' || order_id)"
_KNOWN = "why IS NOT NULL AS explained, why AS explanation"

ORDER_RULES = [
    _INSERT + f"""SELECT 'order_without_invoice' AS category, order_number, {_ORDER}, order_total AS source_amount,
        -order_total AS difference, {_KNOWN},
        format('Order {{}} totals {{}} in ShipStation but has no live invoice in Zoho Books', {_NAME},
               _r_money(order_total)) AS reason
    FROM _r_match WHERE NOT cancelled AND live = 0""",
    _INSERT + f"""SELECT 'duplicate_invoices' AS category, order_number, {_ORDER}, numbers AS target_id,
        order_total AS source_amount, invoiced AS target_amount, invoiced - order_total AS difference,
        false AS explained, format('Order {{}} has {{}} live invoices in Zoho Books ({{}}); it should have one',
                                   {_NAME}, live, numbers) AS reason
    FROM _r_match WHERE NOT cancelled AND live > 1""",
    _INSERT + f"""SELECT 'amount_mismatch' AS category, order_number, {_ORDER}, numbers AS target_id,
        order_total AS source_amount, invoiced AS target_amount, invoiced - order_total AS difference, {_KNOWN},
        format('Order {{}} totals {{}} in ShipStation but invoice {{}} in Zoho Books totals {{}}', {_NAME},
               _r_money(order_total), numbers, _r_money(invoiced)) AS reason
    FROM _r_match WHERE NOT cancelled AND live = 1 AND invoiced IS DISTINCT FROM order_total""",
    _INSERT + f"""SELECT 'customer_mismatch' AS category, order_number, {_ORDER}, numbers AS target_id,
        {_KNOWN}, format('Order {{}} is for "{{}}" in ShipStation but invoice {{}} is made out to "{{}}"', {_NAME},
                         customer, numbers, customer_name) AS reason
    FROM _r_match WHERE NOT cancelled AND live = 1 AND customer IS NOT NULL
        AND _r_name(customer) IS DISTINCT FROM _r_name(customer_name)
        AND _r_name(customer || ' (' || coalesce(customer_email, '') || ')') IS DISTINCT FROM _r_name(customer_name)""",
    _INSERT + f"""SELECT 'cancelled_invoice_live' AS category, order_number, {_ORDER}, numbers AS target_id,
        invoiced AS target_amount, {_KNOWN},
        format('Order {{}} is cancelled in ShipStation but invoice {{}} in Zoho Books is not void ({{}})', {_NAME},
               numbers, _r_money(invoiced)) AS reason
    FROM _r_match WHERE cancelled AND live > 0""",
    _INSERT + """SELECT 'invoice_without_order' AS category, reference AS order_number, 'zoho_books' AS target_system,
        invoice_id AS target_id, total AS target_amount, false AS explained,
        format('Invoice {} in Zoho Books ({}) is keyed to ShipStation order {}, but no such order was read',
               invoice_number, _r_money(total), order_id) AS reason
    FROM _r_invoices WHERE day = $day AND live AND order_id IS NOT NULL
        AND order_id NOT IN (SELECT order_id FROM _r_orders)""",
]

_LABEL = "'shipstation' AS source_system, shipment_id::VARCHAR AS source_id, 'zoho_books' AS target_system"

LABEL_RULES = [
    _INSERT + f"""SELECT 'label_without_journal' AS category, order_number, {_LABEL}, cost AS source_amount,
        -cost AS difference, false AS explained,
        format('Label {{}} of order {{}} cost {{}} but no journal books it in Zoho Books', shipment_id,
               coalesce(order_number, '-'), _r_money(cost)) AS reason
    FROM _r_labels WHERE day = $day AND NOT coalesce(voided, false)
        AND 'ss-label-' || shipment_id NOT IN (SELECT reference FROM _r_journals WHERE reference IS NOT NULL)
        AND 'ss-labels-' || strftime(day, '%Y-%m-%d') NOT IN (SELECT reference FROM _r_journals
                                                               WHERE reference IS NOT NULL)""",
    _INSERT + f"""SELECT 'voided_label_not_reversed' AS category, order_number, {_LABEL}, cost AS source_amount,
        false AS explained,
        format('Label {{}} of order {{}} was voided but its journal ss-label-{{}} has no reversal', shipment_id,
               coalesce(order_number, '-'), shipment_id) AS reason
    FROM _r_labels WHERE day = $day AND coalesce(voided, false)
        AND 'ss-label-' || shipment_id IN (SELECT reference FROM _r_journals)
        AND 'ss-label-' || shipment_id || '-void' NOT IN (
            SELECT reference FROM _r_journals WHERE reference IS NOT NULL)""",
    _INSERT + """SELECT 'journal_without_label' AS category, reference AS order_number, 'zoho_books' AS target_system,
        journal_id AS target_id, total AS target_amount, false AS explained,
        format('Journal {} in Zoho Books books {} for ShipStation label {}, but no such label was read',
               reference, _r_money(total), substr(reference, 10)) AS reason
    FROM _r_journals WHERE day = $day AND reference SIMILAR TO 'ss-label-[0-9]+'
        AND TRY_CAST(substr(reference, 10) AS BIGINT) NOT IN (SELECT shipment_id FROM _r_labels)""",
]

LEDGER_RULES = [
    _INSERT + """SELECT 'sync_failed' AS category, order_number, 'shipstation' AS source_system, source_id,
        'zoho_books' AS target_system, target_id, last_error IS NOT NULL AS explained,
        'the sync failed: ' || last_error AS explanation,
        format('ml-connector could not write {} {} to Zoho Books: {}', replace(flow, 'shipstation_zoho.', ''),
               source_id, coalesce(last_error, 'no error recorded')) AS reason
    FROM _r_ledger WHERE state = 'failed' AND (updated_at AT TIME ZONE $timezone)::DATE = $day""",
    _INSERT + """SELECT 'sync_stuck_pending' AS category, order_number, 'shipstation' AS source_system, source_id,
        'zoho_books' AS target_system, target_id, true AS explained,
        'a run died while writing it; the next run looks it up in Zoho Books before sending again' AS explanation,
        format('A write of {} {} to Zoho Books was left pending by a run that is gone',
               replace(flow, 'shipstation_zoho.', ''), source_id) AS reason
    FROM _r_ledger WHERE state = 'pending' AND stuck
        AND (coalesce(claimed_at, updated_at) AT TIME ZONE $timezone)::DATE = $day""",
]
