"""The Walmart ↔ TallyPrime rule pack on hand-written snapshots: each category found once, clean days clean."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pytest

from pipelines.reconciliation import engine, tables
from pipelines.walmart_tally.recon import PAIR, rule_pack
from pipelines.walmart_tally.recon.tables import CATEGORIES
from state.ledger import Entry

D1 = date(2026, 3, 2)
NOW = datetime(2026, 4, 1, 6, tzinfo=UTC)
FETCHED = datetime(2026, 3, 31, tzinfo=UTC)
TZ = "Asia/Kolkata"


class Books:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        for statement in tables.ddl([rule_pack()]):
            conn.execute(statement)
        self.next_id = 1

    def put(self, table: str, **row) -> None:
        names = ", ".join(f"? AS {name}" for name in row)
        self.conn.execute(f"INSERT INTO {table} BY NAME SELECT {names}", list(row.values()))

    def voucher(self, kind: str, key: str, amount: str | None, *, bank: str = "0", cancelled: bool = False) -> None:
        self.next_id += 1
        self.put("recon_wt_vouchers", day=D1, voucher_type=kind, master_id=self.next_id, ext_key=key, party="Ana",
                 amount=Decimal(amount) if amount else None, bank_amount=Decimal(bank), cancelled=cancelled,
                 fetched_at=FETCHED)

    def order(self, po: str, total: str, *, voucher: str | None = "same", cancelled: bool = False) -> None:
        self.put("recon_wt_orders", day=D1, purchase_order_id=po, customer="Ana", order_total=Decimal(total),
                 cancelled=cancelled, fetched_at=FETCHED)
        if voucher is not None:
            self.voucher("Sales", f"wm-po-{po}", total if voucher == "same" else voucher)

    def settlement(self, report_date: str, payout: str, posted: list[str], *, status: str = "posted",
                   uncoded: bool = False) -> None:
        self.put("recon_wt_settlements", day=D1, report_date=report_date, payout=Decimal(payout), status=status,
                 error="held: reason" if status == "held" else None, fetched_at=FETCHED)
        for n, bank in enumerate(posted, start=1):
            self.voucher("Receipt", f"wm-settle-{report_date}-r{n}", None, bank=bank)
        self.put("recon_wt_settlement_types", day=D1, report_date=report_date, transaction_type="Sale",
                 amount_type="Mystery" if uncoded else "Product Price", target=None if uncoded else "=party",
                 lines=3, amount=Decimal("1.00"))

    def reconcile(self) -> list[dict]:
        engine.reconcile_day(self.conn, rule_pack(), D1, now=NOW, timezone=TZ)
        cursor = self.conn.execute("SELECT * FROM recon_exceptions WHERE pair = ? ORDER BY category", [PAIR])
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture
def books():
    conn = duckdb.connect(config={"memory_limit": "128MB", "threads": 1})
    yield Books(conn)
    conn.close()


def categories(rows: list[dict]) -> list[str]:
    return [r["category"] for r in rows]


def test_a_clean_day_has_no_exceptions(books: Books) -> None:
    books.order("P1", "25.00")
    books.order("P2", "10.00", voucher=None, cancelled=True)
    books.settlement("03022026", "25.00", ["-20.00", "-5.00"])
    assert books.reconcile() == []


def test_each_category_once(books: Books) -> None:
    books.order("P1", "25.00", voucher=None)  # no Sales voucher
    books.order("P2", "25.00", voucher="24.99")  # amount mismatch
    books.voucher("Sales", "wm-po-P404", "9.00")  # no such PO
    books.put("recon_wt_returns", day=D1, return_order_id="R1", purchase_order_id="P2",
              refund_total=Decimal("5.00"), refunded=True, fetched_at=FETCHED)
    books.settlement("03022026", "25.00", ["-24.00"])  # posted 24.00 of 25.00
    books.settlement("03032026", "7.00", [], status="held", uncoded=True)
    rows = books.reconcile()
    assert sorted(categories(rows)) == sorted(["order_without_sales", "amount_mismatch", "sales_without_order",
                                               "return_without_credit_note", "settlement_mismatch",
                                               "settlement_mismatch", "fee_type_uncoded"])
    by = {(r["category"], r["source_id"]): r for r in rows}
    assert by[("settlement_mismatch", "03022026")]["difference"] == Decimal("-1.00")
    assert not by[("settlement_mismatch", "03022026")]["explained"]
    assert by[("settlement_mismatch", "03032026")]["explained"]
    assert "WALMART_SETTLEMENT_CODES" in by[("fee_type_uncoded", "03032026:Sale/Mystery")]["reason"]
    assert {r["owner"] for r in rows} <= {owner for owner, _ in CATEGORIES.values()}


def test_a_credit_note_clears_the_return_and_a_failed_sale_is_explained(books: Books) -> None:
    books.order("P1", "25.00", voucher=None)
    books.put("recon_wt_returns", day=D1, return_order_id="R1", purchase_order_id="P9",
              refund_total=Decimal("5.00"), refunded=True, fetched_at=FETCHED)
    books.voucher("Credit Note", "wm-rma-R1-P9", "5.00")
    stamp = datetime(2026, 3, 2, 9, tzinfo=UTC).timestamp()
    failed = Entry(flow="walmart_tally.sales", source_id="P1", target="tally", external_key="wm-po-P1",
                   state="failed", action="create", target_id=None, posted_hash=None, cancelled=False, attempts=1,
                   last_error="Ledger 'Ana' does not exist!", owner=None, detail={}, source_payload=None,
                   claimed_at=None, updated_at=stamp)
    engine.load_ledger(books.conn, [failed], now=NOW, lease_seconds=900)
    rows = books.reconcile()
    assert sorted(categories(rows)) == ["order_without_sales", "sync_failed"]
    assert all(r["explained"] for r in rows)
