"""The Acumatica ↔ ShipStation rule pack (seed 004's list): status mismatch, late edit, tracking write-back
failed, duplicate order attempt, orphaned shipment, shipping cost variance, currency mismatch, fulfilled
without a carrier scan; each exception names its owner (finance or operations).

Matching: an Acumatica order and a ShipStation order are one when the ShipStation `orderKey` is the
order's key (mapping.order_key); a label and an Acumatica shipment package when the package's
`CustomRefNbr1` is `ss-label-<shipmentId>`. Each record counts once, at its newest snapshot.
"""

from __future__ import annotations

from decimal import Decimal

from pipelines.acumatica_shipstation.recon import rules, scope
from pipelines.acumatica_shipstation.recon.assets import build_snapshot_assets
from pipelines.acumatica_shipstation.recon.tables import CATEGORIES, ORDER_CATEGORIES, SNAPSHOTS
from pipelines.reconciliation.pack import Match, Measure, RulePack, TotalRow

PAIR = "acumatica_shipstation"

MEASURES = (
    Measure("orders", "SELECT count(*) FROM _r_acu WHERE of_day"),
    Measure("order_total", "SELECT coalesce(sum(order_total), 0) FROM _r_acu WHERE of_day", money=True),
    Measure("in_shipstation", """SELECT count(*) FROM _r_acu a WHERE a.of_day
        AND EXISTS (SELECT 1 FROM _r_ss s WHERE s.order_key = a.order_key)"""),
    Measure("labels", "SELECT count(*) FROM _r_labels WHERE of_day AND live"),
    Measure("shipments", "SELECT count(DISTINCT shipment_nbr) FROM _r_packages WHERE of_day"),
    Measure("matched", f"""SELECT count(*) FROM _r_acu WHERE of_day AND order_key NOT IN (
        SELECT source_id FROM _r_exc WHERE category IN {ORDER_CATEGORIES})"""),
)

TOTAL_ROWS = (
    TotalRow("Sales orders / ShipStation orders", "orders", "in_shipstation"),
    TotalRow("Labels / Acumatica shipments", "labels", "shipments"),
)


def rule_pack(*, store_currency: str = "USD", postage_rate: Decimal = Decimal(1),
              cost_tolerance: Decimal = Decimal("0.00"), currency: str = "$") -> RulePack:
    """The pack. `store_currency`: what ShipStation shows amounts in; `postage_rate`: books' units per postage unit."""
    return RulePack(
        pair=PAIR, label="Acumatica ↔ ShipStation", sides=("Acumatica", "ShipStation"), snapshots=SNAPSHOTS,
        categories=CATEGORIES, scope=scope.SCOPE, rules=[*rules.ORDER_RULES, *rules.LABEL_RULES],
        ledger_flows=(scope.ORDERS_FLOW, scope.SHIPMENTS_FLOW, scope.FREIGHT_FLOW), measures=MEASURES,
        total_rows=TOTAL_ROWS, match=Match("matched", "orders", "orders"),
        params={"store_currency": store_currency, "postage_rate": postage_rate, "cost_tolerance": cost_tolerance},
        currency=currency, snapshot_assets=build_snapshot_assets)
