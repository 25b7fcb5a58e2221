"""One SQL statement per exception rule over the day's working set (scope.py); rows go BY NAME into `_r_exc`.

A record gets a category at most once. `explained` is true when the sync ledger records the cause
(`why`), or for a variance line. The engine dates every row on the reconciled day.
"""

from __future__ import annotations

from pipelines.acumatica_shipstation.recon.scope import FREIGHT_FLOW, ORDERS_FLOW, SHIPMENTS_FLOW

_INSERT = "INSERT INTO _r_exc BY NAME "
_CANCELLED = "('Canceled', 'Cancelled')"
_HELD = "('On Hold', 'Credit Hold', 'Pending Approval', 'Awaiting Payment', 'Rejected')"
_CONFIRMED = "('Confirmed', 'Completed', 'Invoiced', 'Partially Invoiced')"
_ACU = "'acumatica' AS source_system, a.order_key AS source_id, 'shipstation' AS target_system"
_LABEL = "'shipstation' AS source_system, l.shipment_id::VARCHAR AS source_id, 'acumatica' AS target_system"


def _why(alias: str = "g") -> str:
    return f"""CASE WHEN {alias}.state = 'failed' THEN 'the sync failed: ' || coalesce({alias}.last_error, '?')
        WHEN {alias}.state = 'waiting' THEN 'the sync is holding it back: ' || coalesce({alias}.last_error, '?')
        WHEN {alias}.state = 'pending' THEN 'a sync run is writing it (or died doing so)' END"""


ORDER_RULES: list[str] = [
    _INSERT + f"""SELECT 'status_mismatch' AS category, a.order_nbr AS order_number, {_ACU},
        s.order_id::VARCHAR AS target_id, false AS explained,
        format('Order {{}} is {{}} in Acumatica but {{}} in ShipStation (orderId {{}})', a.order_nbr, a.status,
               s.order_status, s.order_id) AS reason
    FROM _r_acu a JOIN _r_ss s ON s.order_key = a.order_key
    WHERE a.of_day AND a.order_key NOT IN (SELECT source_id FROM _r_ledger WHERE flow = '{ORDERS_FLOW}'
                                            AND state = 'failed' AND starts_with(last_error, 'late edit'))
        AND ((a.status IN {_CANCELLED} AND s.order_status <> 'cancelled')
          OR (s.order_status = 'cancelled' AND a.status NOT IN {_CANCELLED})
          OR (a.status IN ('Completed', 'Invoiced') AND s.order_status NOT IN ('shipped', 'cancelled'))
          OR (a.status IN {_HELD} AND s.order_status = 'awaiting_shipment'))
    QUALIFY row_number() OVER (PARTITION BY a.order_key ORDER BY s.order_id) = 1""",

    _INSERT + f"""SELECT 'late_edit' AS category, a.order_nbr AS order_number, {_ACU}, g.target_id,
        true AS explained, g.last_error AS explanation,
        format('Order {{}} was edited in Acumatica after ShipStation locked it; nothing was overwritten or '
               'duplicated: {{}}', a.order_nbr, g.last_error) AS reason
    FROM _r_acu a JOIN _r_ledger g ON g.flow = '{ORDERS_FLOW}' AND g.source_id = a.order_key
    WHERE a.of_day AND g.state = 'failed' AND starts_with(g.last_error, 'late edit')""",

    _INSERT + f"""WITH copies AS (
        SELECT a.order_key, count(DISTINCT s.order_id) AS n,
            string_agg(DISTINCT s.order_id::VARCHAR, ', ' ORDER BY s.order_id::VARCHAR) AS ids
        FROM _r_acu a JOIN _r_ss s ON (s.order_key = a.order_key OR s.order_number = a.order_nbr)
        WHERE a.of_day AND coalesce(s.order_status, '') <> 'cancelled' GROUP BY a.order_key)
    SELECT 'duplicate_order_attempt' AS category, a.order_nbr AS order_number, {_ACU}, c.ids AS target_id,
        c.n AS target_amount, false AS explained,
        format('Order {{}} is in ShipStation {{}} times (orderIds {{}}): a second push or a store import '
               'made another copy', a.order_nbr, c.n, c.ids) AS reason
    FROM copies c JOIN _r_acu a USING (order_key) WHERE c.n > 1""",

    _INSERT + f"""SELECT 'currency_mismatch' AS category, a.order_nbr AS order_number, {_ACU},
        false AS explained, a.order_total AS source_amount,
        format('Order {{}} is in {{}} but the ShipStation store shows amounts as {{}}', a.order_nbr, a.currency_id,
               $store_currency) AS reason
    FROM _r_acu a WHERE a.of_day AND a.currency_id IS NOT NULL AND a.currency_id <> $store_currency""",
]

LABEL_RULES: list[str] = [
    _INSERT + f"""SELECT 'tracking_writeback_failed' AS category, l.order_number, {_LABEL},
        {_why()} IS NOT NULL AS explained, {_why()} AS explanation,
        format('Label {{}} of order {{}} (tracking {{}}) is live in ShipStation but no Acumatica shipment '
               'carries its tracking number', l.shipment_id, l.order_number, l.tracking_number) AS reason
    FROM _r_labels l JOIN _r_acu a ON a.order_key = l.order_key
    LEFT JOIN _r_ledger g ON g.flow = '{SHIPMENTS_FLOW}' AND g.source_id = l.shipment_id::VARCHAR
    WHERE l.of_day AND l.live AND NOT EXISTS (
        SELECT 1 FROM _r_packages p WHERE p.shipment_id = l.shipment_id AND p.tracking_number = l.tracking_number)""",

    _INSERT + f"""SELECT 'orphaned_shipment' AS category, l.order_number, {_LABEL}, false AS explained,
        format('Label {{}} (tracking {{}}) ships ShipStation order {{}}, which came from Acumatica, but Acumatica '
               'has no order {{}}', l.shipment_id, l.tracking_number, l.order_number, l.order_key) AS reason
    FROM _r_labels l JOIN _r_ss s ON s.order_id = l.order_id
    WHERE l.of_day AND l.live AND s.source = 'acumatica'
        AND l.order_key NOT IN (SELECT order_key FROM recon_as_orders)""",

    _INSERT + """SELECT 'orphaned_shipment' AS category, NULL AS order_number, 'acumatica' AS source_system,
        p.shipment_nbr AS source_id, 'shipstation' AS target_system, p.shipment_id::VARCHAR AS target_id,
        false AS explained,
        format('Acumatica shipment {} ({}, tracking {}) is keyed to ShipStation label {}, which {}', p.shipment_nbr,
               p.status, p.tracking_number, p.shipment_id,
               CASE WHEN l.shipment_id IS NULL THEN 'was not read from ShipStation' ELSE 'is voided' END) AS reason
    FROM _r_packages p LEFT JOIN _r_labels l USING (shipment_id)
    WHERE p.of_day AND p.shipment_id IS NOT NULL AND (l.shipment_id IS NULL OR NOT l.live)""",

    _INSERT + f"""SELECT 'shipping_cost_variance' AS category, l.order_number, {_LABEL},
        p.shipment_nbr AS target_id, round(l.cost * $postage_rate, 2) AS source_amount,
        p.freight_cost AS target_amount, p.freight_cost - round(l.cost * $postage_rate, 2) AS difference,
        true AS explained, 'a variance: what Acumatica booked is not what the label cost' AS explanation,
        format('Label {{}} of order {{}} cost {{}} but Acumatica shipment {{}} books {{}} of freight',
               l.shipment_id, l.order_number, _r_money(round(l.cost * $postage_rate, 2)), p.shipment_nbr,
               _r_money(p.freight_cost)) AS reason
    FROM _r_labels l JOIN _r_packages p ON p.shipment_id = l.shipment_id
    WHERE l.of_day AND l.live AND p.freight_cost IS NOT NULL AND l.cost IS NOT NULL
        AND abs(p.freight_cost - round(l.cost * $postage_rate, 2)) > $cost_tolerance""",

    _INSERT + f"""SELECT 'currency_mismatch' AS category, l.order_number, {_LABEL}, true AS explained,
        g.last_error AS explanation, l.cost AS source_amount,
        format('Label {{}} of order {{}}: its cost could not be booked: {{}}', l.shipment_id, l.order_number,
               g.last_error) AS reason
    FROM _r_labels l JOIN _r_ledger g ON g.flow = '{FREIGHT_FLOW}' AND g.source_id = l.shipment_id::VARCHAR
    WHERE l.of_day AND g.state = 'failed' AND contains(g.last_error, 'currency mismatch')""",

    _INSERT + f"""SELECT 'fulfilled_without_scan' AS category, l.order_number, 'acumatica' AS source_system,
        p.shipment_nbr AS source_id, 'shipstation' AS target_system, l.shipment_id::VARCHAR AS target_id,
        false AS explained,
        format('Acumatica shipment {{}} is {{}} but the carrier has not scanned label {{}} (tracking {{}}: {{}})',
               p.shipment_nbr, p.status, l.shipment_id, l.tracking_number,
               coalesce(t.status, 'no tracking read')) AS reason
    FROM _r_packages p JOIN _r_labels l ON l.shipment_id = p.shipment_id
    LEFT JOIN _r_tracking t ON t.shipment_id = l.shipment_id
    WHERE p.of_day AND l.live AND p.status IN {_CONFIRMED} AND NOT coalesce(t.carrier_has_parcel, false)""",
]
