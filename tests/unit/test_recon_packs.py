"""Rule packs: two pairs reconciled by the same engine into one month report, each row naming its pair.

The second pack is built here from literal SQL (a shop's sales against a ledger's invoices): nothing in
pipelines/reconciliation knows it, which is the point.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import openpyxl
import pytest

from pipelines.reconciliation import engine, tables
from pipelines.reconciliation.pack import FINANCE, Match, Measure, RulePack, TotalRow, check_packs
from pipelines.reconciliation.report import report_data_from, write_report
from pipelines.shipstation_tally.recon import PAIR, rule_pack
from tests.unit.test_recon_engine import D1, NOW, TZ, Books
from tests.unit.test_recon_report import table_rows

SHOP = RulePack(
    pair="shop_books", label="Shop → Books", sides=("Shop", "Books"),
    snapshots={"recon_tp_sales": "day DATE NOT NULL, sale_id VARCHAR, amount DECIMAL(18, 2)",
               "recon_tp_invoices": "day DATE NOT NULL, invoice_id VARCHAR, sale_id VARCHAR, amount DECIMAL(18, 2)"},
    categories={"sale_without_invoice": (FINANCE, "a sale has no invoice in the books")},
    scope=["CREATE OR REPLACE TEMP TABLE _r_sales AS SELECT * FROM recon_tp_sales WHERE day = $day"],
    rules=["""INSERT INTO _r_exc BY NAME SELECT 'sale_without_invoice' AS category, 'shop' AS source_system,
        sale_id AS source_id, 'books' AS target_system, amount AS source_amount, -amount AS difference,
        false AS explained, format('Sale {} of {} has no invoice', sale_id, _r_money(amount)) AS reason
        FROM _r_sales WHERE sale_id NOT IN (SELECT sale_id FROM recon_tp_invoices)"""],
    measures=[Measure("sales", "SELECT count(*) FROM _r_sales"),
              Measure("sales_amount", "SELECT coalesce(sum(amount), 0) FROM _r_sales", money=True),
              Measure("invoices", "SELECT count(*) FROM recon_tp_invoices WHERE day = $day"),
              Measure("matched", "SELECT count(*) FROM _r_sales WHERE sale_id NOT IN (SELECT source_id FROM _r_exc)")],
    total_rows=[TotalRow("Sales / invoices", "sales", "invoices")], match=Match("matched", "sales", "sales"),
    currency="$")


@pytest.fixture
def books():
    conn = duckdb.connect(config={"memory_limit": "128MB", "threads": 1})
    yield Books(conn)
    conn.close()


def test_two_pairs_share_one_engine_one_exceptions_table_and_one_report(books, tmp_path):
    ship_tally = rule_pack()
    books.clean(1)
    books.order(2, status="awaiting_shipment")  # no voucher: ShipStation ↔ TallyPrime's exception
    for statement in tables.ddl([SHOP]):
        books.conn.execute(statement)
    books.put("recon_tp_sales", day=D1, sale_id="S-1", amount=Decimal("10.00"))
    books.put("recon_tp_sales", day=D1, sale_id="S-2", amount=Decimal("7.50"))  # no invoice: the shop's exception
    books.put("recon_tp_invoices", day=D1, invoice_id="INV-1", sale_id="S-1", amount=Decimal("10.00"))

    results = [engine.reconcile_day(books.conn, pack, D1, now=NOW, timezone=TZ) for pack in (ship_tally, SHOP)]
    assert [(r.pair, r.exceptions) for r in results] == [(PAIR, 1), ("shop_books", 1)]
    assert results[1].totals == {"sales": 2, "sales_amount": Decimal("7.50") + 10, "invoices": 1, "matched": 1}
    assert results[1].match_rate == 0.5
    rows = books.conn.execute("SELECT pair, category, owner FROM recon_exceptions ORDER BY pair").fetchall()
    assert rows == [(PAIR, "order_without_voucher", "finance"), ("shop_books", "sale_without_invoice", "finance")]
    engine.reconcile_day(books.conn, SHOP, D1, now=NOW, timezone=TZ)  # a pair's rerun replaces its rows only
    assert books.conn.execute("SELECT count(*) FROM recon_exceptions").fetchone()[0] == 2

    month = engine.month_rollup(books.conn, "2026-03")
    assert [p.pair for p in month.pairs] == ["shipstation_tally", "shop_books"] and month.exception_count == 2
    assert month.pair("shop_books").totals["sales_amount"] == Decimal("17.50")
    assert month.pair(PAIR).match_rate == 0.5 and month.pair("shop_books").match_rate == 0.5

    files = write_report(report_data_from(month, generated_at=datetime(2026, 4, 1, tzinfo=UTC)), tmp_path)
    page = files.html.read_text(encoding="utf-8")
    assert "ShipStation ↔ TallyPrime · Shop → Books" in page and "<h3>Shop → Books</h3>" in page
    assert "<th>Shop</th><th>Books</th>" in page and "$17.50" not in page  # totals rows show the pack's rows only
    assert ("<tr><th>Sales / invoices</th><td>2</td><td>1</td><td>-1</td>"
            "<td class=\"why\">1 see the exceptions below</td></tr>") in page
    assert "1 of 2 sales matched" in page and "shop_books · sale_without_invoice" in page
    assert {(r[1], r[2]) for r in table_rows(page)} == {("ShipStation ↔ TallyPrime", "order_without_voucher"),
                                                         ("Shop → Books", "sale_without_invoice")}
    found = list(csv.DictReader(io.StringIO(files.csv.read_text(encoding="utf-8-sig"))))
    assert {(r["pair"], r["category"]) for r in found} == {(PAIR, "order_without_voucher"),
                                                            ("shop_books", "sale_without_invoice")}
    assert "Sale S-2 of $7.50 has no invoice" in {r["reason"] for r in found}
    sheet = openpyxl.load_workbook(files.xlsx)["Totals"]
    values = [row for row in sheet.iter_rows(values_only=True) if row and row[0]]
    assert ("Shop → Books", "shop_books", None, None) in values and ("Sales / invoices", 2, 1, -1) in values
    assert ("sale_without_invoice", "finance", 1, "shop_books") in values


def test_packs_may_not_share_a_name_or_a_snapshot_table():
    check_packs([rule_pack(), SHOP])
    with pytest.raises(ValueError, match="named 'shop_books'"):
        check_packs([SHOP, SHOP])
    with pytest.raises(ValueError, match="recon_ss_orders is declared by both"):
        check_packs([rule_pack(), RulePack(pair="other", label="Other", sides=("A", "B"), categories={}, scope=[],
                                           rules=[], snapshots={"recon_ss_orders": "day DATE"})])
