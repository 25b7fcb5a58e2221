"""The working set of one reconciliation day: the day's records on both sides, each at its newest snapshot,
and every record of the other side they point at (whatever day that one is dated). Temporary tables `_r_...`.
"""

from __future__ import annotations

ORDERS_FLOW = "acumatica_shipstation.orders"  # pipelines/acumatica_shipstation/posting.py
SHIPMENTS_FLOW = "acumatica_shipstation.shipments"
FREIGHT_FLOW = "acumatica_shipstation.freight"

_LATEST = "QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY fetched_at DESC, day DESC) = 1"

SCOPE: list[str] = [
    """CREATE OR REPLACE TEMP TABLE _r_keys AS
    SELECT order_key FROM recon_as_orders WHERE day = $day
    UNION SELECT order_key FROM recon_as_labels WHERE day = $day AND order_key IS NOT NULL
    UNION SELECT order_key FROM recon_as_packages WHERE day = $day AND order_key IS NOT NULL
    UNION SELECT order_key FROM recon_as_ss_orders WHERE day = $day AND order_key IS NOT NULL""",

    f"""CREATE OR REPLACE TEMP TABLE _r_acu AS
    SELECT *, day = $day AS of_day FROM recon_as_orders WHERE order_key IN (SELECT order_key FROM _r_keys)
    {_LATEST.format(key="order_key")}""",

    f"""CREATE OR REPLACE TEMP TABLE _r_ss AS
    SELECT *, day = $day AS of_day FROM recon_as_ss_orders
    WHERE order_key IN (SELECT order_key FROM _r_keys)
        OR order_number IN (SELECT order_nbr FROM _r_acu) OR day = $day
    {_LATEST.format(key="order_id")}""",

    f"""CREATE OR REPLACE TEMP TABLE _r_labels AS
    SELECT *, day = $day AS of_day, NOT coalesce(voided, false) AS live FROM recon_as_labels
    WHERE day = $day OR shipment_id IN (SELECT TRY_CAST(substr(ext_key, 10) AS BIGINT) FROM recon_as_packages
                                        WHERE day = $day AND starts_with(ext_key, 'ss-label-'))
    {_LATEST.format(key="shipment_id")}""",

    f"""CREATE OR REPLACE TEMP TABLE _r_packages AS
    SELECT *, day = $day AS of_day,
        CASE WHEN starts_with(ext_key, 'ss-label-') THEN TRY_CAST(substr(ext_key, 10) AS BIGINT) END AS shipment_id
    FROM recon_as_packages
    WHERE day = $day OR ext_key IN (SELECT 'ss-label-' || shipment_id FROM _r_labels)
    {_LATEST.format(key="shipment_nbr, ext_key")}""",

    f"""CREATE OR REPLACE TEMP TABLE _r_tracking AS
    SELECT * FROM recon_as_tracking WHERE shipment_id IN (SELECT shipment_id FROM _r_labels)
    {_LATEST.format(key="shipment_id")}""",
]
