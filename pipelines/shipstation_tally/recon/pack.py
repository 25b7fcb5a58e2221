"""The ShipStation ↔ TallyPrime rule pack: its snapshot tables, working set, rules, measures and report lines.

Matching: an order voucher belongs to ShipStation order N when it carries our key `ss-order-N`, a
Delivery Note to label N when it carries `ss-shipment-N`, whatever day either is dated; every record
counts once, at its newest snapshot, on that snapshot's day. A cancelled voucher is inert.
"""

from __future__ import annotations

from decimal import Decimal

from pipelines.reconciliation.pack import Drift, Match, Measure, RulePack, TotalRow
from pipelines.shipstation_tally.recon import rules, scope
from pipelines.shipstation_tally.recon.assets import build_snapshot_assets
from pipelines.shipstation_tally.recon.tables import CATEGORIES, NOTICES, ORDER_CATEGORIES, SNAPSHOTS

PAIR = "shipstation_tally"

# `orders` are the day's ShipStation orders (cancelled ones included) and `order_total` the total of those
# not cancelled; `vouchers` / `voucher_amount` the day's active order vouchers in Tally; `shipments` the
# day's live labels, `delivery_notes` the day's active Delivery Notes; `matched` orders have none of
# ORDER_CATEGORIES; `stock_checked` is 1 when both sides' stock was counted for the day.
_COUNTED = "SELECT coalesce({}, 0) FROM _r_day_counts WHERE day = $day"  # scope.py counts each day once


def _counted(key: str, *, money: bool = False) -> Measure:
    return Measure(key, _COUNTED.format(key), money=money)


MEASURES = (
    _counted("orders"),
    _counted("order_total", money=True),
    _counted("vouchers"),
    _counted("voucher_amount", money=True),
    _counted("shipments"),
    _counted("delivery_notes"),
    # Every row of ORDER_CATEGORIES is on its order's day, with the order as its source.
    Measure("matched", f"""SELECT coalesce(max(orders), 0) - (SELECT count(DISTINCT source_id) FROM _r_exc
        WHERE day = $day AND category IN {ORDER_CATEGORIES}) FROM _r_day_counts WHERE day = $day"""),
    # The known causes of fewer vouchers than orders: cancelled before posting (or after, with the voucher
    # cancelled too), failed to post, held back or still being written.
    _counted("orders_cancelled"),
    _counted("orders_failed"),
    _counted("orders_waiting"),
    Measure("stock_checked", """SELECT (EXISTS (SELECT 1 FROM recon_tally_stock WHERE day = $day)
        AND EXISTS (SELECT 1 FROM recon_ss_inventory WHERE day = $day))::INT"""),
)

TOTAL_ROWS = (
    TotalRow("Orders / order vouchers", "orders", "vouchers",
             because=(("orders_cancelled", "cancelled before posting"), ("orders_failed", "failed to post"),
                      ("orders_waiting", "waiting or being written"))),
    TotalRow("Order amount", "order_total", "voucher_amount", money=True),
    TotalRow("Shipments / Delivery Notes", "shipments", "delivery_notes"),
)


def rule_pack(*, order_voucher_type: str = "Sales Order", note_voucher_type: str = "Delivery Note",
         cost_tolerance: Decimal = Decimal("0.00"), currency: str = "₹") -> RulePack:
    """The pack, for the voucher types the flow posts (TALLY_ORDER_VOUCHER_TYPE, TALLY_DELIVERY_NOTE_TYPE).

    A label cost differing from the shipping charged by more than `cost_tolerance` is a variance line.
    """
    return RulePack(
        pair=PAIR, label="ShipStation ↔ TallyPrime", sides=("ShipStation", "TallyPrime"), snapshots=SNAPSHOTS,
        categories=CATEGORIES, macros=scope.MACROS, scope=scope.SCOPE,
        rules=rules.RULES,
        ledger_flows=(scope.ORDERS_FLOW, scope.SHIPMENTS_FLOW), ledger_rules=rules.LEDGER_RULES,
        measures=MEASURES, total_rows=TOTAL_ROWS, match=Match("matched", "orders", "orders"),
        drift=Drift("stock_drift", "stock_checked", "Stock drift per SKU"),
        params={"order_type": order_voucher_type, "note_type": note_voucher_type, "cost_tolerance": cost_tolerance},
        currency=currency, snapshot_assets=build_snapshot_assets, notices=NOTICES)
