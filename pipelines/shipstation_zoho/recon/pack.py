"""The ShipStation ↔ Zoho Books rule pack: snapshot tables, working set, rules, measures and report lines."""

from __future__ import annotations

from pipelines.reconciliation.pack import Match, Measure, RulePack, TotalRow
from pipelines.shipstation_zoho.recon import rules
from pipelines.shipstation_zoho.recon.tables import CATEGORIES, ORDER_CATEGORIES, SNAPSHOTS

PAIR = "shipstation_zoho"

MEASURES = (
    Measure("orders", "SELECT count(*) FROM _r_match"),
    Measure("order_total", "SELECT coalesce(sum(order_total), 0) FROM _r_match WHERE NOT cancelled", money=True),
    Measure("invoices", "SELECT count(*) FROM _r_invoices WHERE day = $day AND live"),
    Measure("invoice_total", "SELECT coalesce(sum(total), 0) FROM _r_invoices WHERE day = $day AND live", money=True),
    Measure("labels", "SELECT count(*) FROM _r_labels WHERE day = $day AND NOT coalesce(voided, false)"),
    Measure("label_cost", "SELECT coalesce(sum(cost), 0) FROM _r_labels WHERE day = $day"
            " AND NOT coalesce(voided, false)", money=True),
    Measure("matched", f"""SELECT count(*) FROM _r_match WHERE order_id::VARCHAR NOT IN (
        SELECT source_id FROM _r_exc WHERE category IN {ORDER_CATEGORIES} AND source_id IS NOT NULL)"""),
    Measure("orders_cancelled", "SELECT count(*) FROM _r_match WHERE cancelled AND live = 0"),
    # What the day's label journals put on the books: per-label and daily journals, less their reversals.
    Measure("journalled", "SELECT coalesce(sum(CASE WHEN reference LIKE '%-void' THEN -total ELSE total END), 0)"
            " FROM _r_journals WHERE day = $day AND reference LIKE 'ss-label%'", money=True),
)

TOTAL_ROWS = (
    TotalRow("Orders / invoices", "orders", "invoices", because=(("orders_cancelled", "cancelled"),)),
    TotalRow("Order amount / invoiced", "order_total", "invoice_total", money=True),
    TotalRow("Label cost / journalled", "label_cost", "journalled", money=True),
)


def rule_pack(*, currency: str = "") -> RulePack:  # "": amounts without a symbol (the organisation's own)
    """The pack (its snapshot assets read ShipStation and Zoho Books live, see recon/assets.py)."""
    from pipelines.shipstation_zoho.recon.assets import build_snapshot_assets

    return RulePack(
        pair=PAIR, label="ShipStation ↔ Zoho Books", sides=("ShipStation", "Zoho Books"), snapshots=SNAPSHOTS,
        categories=CATEGORIES, macros=rules.MACROS, scope=rules.SCOPE,
        rules=[*rules.ORDER_RULES, *rules.LABEL_RULES],
        ledger_flows=(rules.INVOICES_FLOW, rules.JOURNALS_FLOW, rules.CONTACTS_FLOW), ledger_rules=rules.LEDGER_RULES,
        measures=MEASURES, total_rows=TOTAL_ROWS, match=Match("matched", "orders", "orders"), currency=currency,
        snapshot_assets=build_snapshot_assets)
