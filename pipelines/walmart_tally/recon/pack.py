"""The Walmart ↔ TallyPrime rule pack: snapshot tables, working set, rules, measures and report lines."""

from __future__ import annotations

from pipelines.reconciliation.pack import Match, Measure, RulePack, TotalRow
from pipelines.walmart_tally.recon import rules
from pipelines.walmart_tally.recon.assets import build_snapshot_assets
from pipelines.walmart_tally.recon.tables import CATEGORIES, SNAPSHOTS

PAIR = "walmart_tally"
ORDER_CATEGORIES = ("order_without_sales", "amount_mismatch")

MEASURES = (
    Measure("orders", "SELECT count(*) FROM _r_day_orders"),
    Measure("order_total", "SELECT coalesce(sum(order_total), 0) FROM _r_day_orders WHERE NOT cancelled",
            money=True),
    Measure("sales_vouchers", "SELECT count(*) FROM _r_vouchers WHERE day = $day AND active"
            " AND voucher_type = $sales_type"),
    Measure("sales_amount", "SELECT coalesce(sum(amount), 0) FROM _r_vouchers WHERE day = $day AND active"
            " AND voucher_type = $sales_type", money=True),
    Measure("payout", "SELECT coalesce(sum(payout), 0) FROM _r_settlements WHERE day = $day", money=True),
    Measure("payout_posted", """SELECT coalesce(-sum(bank_amount), 0) FROM _r_vouchers WHERE active
        AND starts_with(ext_key, 'wm-settle-') AND regexp_extract(ext_key, '^wm-settle-(.+)-(r[0-9]+|j)$', 1)
            IN (SELECT report_date FROM _r_settlements WHERE day = $day)""", money=True),
    Measure("matched", f"""SELECT count(*) FROM _r_day_orders WHERE purchase_order_id NOT IN (
        SELECT source_id FROM _r_exc WHERE category IN {ORDER_CATEGORIES})"""),
)

TOTAL_ROWS = (
    TotalRow("Purchase orders / Sales vouchers", "orders", "sales_vouchers"),
    TotalRow("Order amount", "order_total", "sales_amount", money=True),
    TotalRow("Settlement payout / posted to the bank", "payout", "payout_posted", money=True),
)


def rule_pack(*, sales_type: str = "Sales", credit_note_type: str = "Credit Note",
              bank_ledger: str = "Walmart Payouts", currency: str = "$") -> RulePack:
    """The pack for the voucher types the flows post (TALLY_WALMART_VOUCHER_TYPE, ..._CREDIT_NOTE_TYPE)."""
    return RulePack(
        pair=PAIR, label="Walmart ↔ TallyPrime", sides=("Walmart", "TallyPrime"), snapshots=SNAPSHOTS,
        categories=CATEGORIES, scope=rules.SCOPE, rules=rules.RULES, ledger_flows=rules.FLOWS,
        ledger_rules=rules.LEDGER_RULES, measures=MEASURES, total_rows=TOTAL_ROWS,
        match=Match("matched", "orders", "orders"),
        params={"sales_type": sales_type, "credit_note_type": credit_note_type, "bank_ledger": bank_ledger},
        currency=currency, snapshot_assets=build_snapshot_assets)
