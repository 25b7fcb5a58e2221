"""The ShipStation ↔ Zoho Books rule pack: each category from the record that causes it, a clean day has none."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pytest

from pipelines.reconciliation import engine, tables
from pipelines.reconciliation.pack import check_packs
from pipelines.shipstation_tally.recon import rule_pack as tally_pack
from pipelines.shipstation_zoho.recon import PAIR, rule_pack
from pipelines.shipstation_zoho.recon.tables import CATEGORIES
from state.ledger import Entry

D1 = date(2026, 3, 2)
TZ = "Asia/Kolkata"
NOW = datetime(2026, 4, 1, 6, tzinfo=UTC)
FETCHED = datetime(2026, 3, 31, tzinfo=UTC)


class Books:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        for statement in tables.ddl([rule_pack()]):
            conn.execute(statement)
        engine.load_ledger(conn, [], now=NOW, lease_seconds=900)

    def put(self, table: str, **row) -> None:
        names = ", ".join(f"? AS {name}" for name in row)
        self.conn.execute(f"INSERT INTO {table} BY NAME SELECT {names}", list(row.values()))

    def order(self, oid: int, *, status="shipped", customer="Asha Rao", total="25.00", email="a@example.com"):
        self.put("recon_sz_orders", day=D1, order_id=oid, order_number=f"WC-{oid}", order_status=status,
                 customer=customer, customer_email=email, order_total=Decimal(total), fetched_at=FETCHED)

    def invoice(self, iid: str, oid: int | None, *, total="25.00", customer="Asha Rao", status="sent", ref=None):
        self.put("recon_zb_invoices", day=D1, invoice_id=iid, invoice_number=f"INV-{iid}",
                 reference=ref or f"ss-order-{oid}", customer_name=customer, status=status, total=Decimal(total),
                 fetched_at=FETCHED)

    def label(self, sid: int, oid: int, *, voided=False, cost="7.50"):
        self.put("recon_sz_labels", day=D1, shipment_id=sid, order_id=oid, order_number=f"WC-{oid}", voided=voided,
                 cost=Decimal(cost), tracking_number=f"1Z{sid}", fetched_at=FETCHED)

    def journal(self, jid: str, reference: str, total="7.50"):
        self.put("recon_zb_journals", day=D1, journal_id=jid, reference=reference, total=Decimal(total),
                 fetched_at=FETCHED)

    def clean(self, oid: int) -> None:
        self.order(oid)
        self.invoice(f"i{oid}", oid)
        self.label(2000 + oid, oid)
        self.journal(f"j{oid}", f"ss-label-{2000 + oid}")

    def exceptions(self) -> list[dict]:
        engine.reconcile_day(self.conn, rule_pack(), D1, now=NOW, timezone=TZ)
        cursor = self.conn.execute("SELECT * FROM recon_exceptions WHERE pair = ? ORDER BY category, source_id",
                                   [PAIR])
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def only(self, category: str) -> dict:
        found = self.exceptions()
        assert [row["category"] for row in found] == [category], [(r["category"], r["reason"]) for r in found]
        assert found[0]["owner"] == CATEGORIES[category][0]
        return found[0]


@pytest.fixture
def books():
    conn = duckdb.connect(config={"memory_limit": "128MB", "threads": 1})
    yield Books(conn)
    conn.close()


def test_a_clean_day_has_no_exceptions(books):
    for n in range(1, 4):
        books.clean(n)
    assert books.exceptions() == []


def test_an_order_without_an_invoice(books):
    books.clean(1)
    books.order(2, total="40.00")
    row = books.only("order_without_invoice")
    assert row["source_id"] == "2" and row["difference"] == Decimal("-40.00")


def test_an_invoice_without_an_order(books):
    books.clean(1)
    books.invoice("x", 99)
    assert "no such order" in books.only("invoice_without_order")["reason"]


def test_a_void_invoice_does_not_count_and_two_live_ones_are_duplicates(books):
    books.clean(1)
    books.order(2)
    books.invoice("a", 2, status="void")
    assert books.only("order_without_invoice")["source_id"] == "2"
    books.invoice("b", 2)
    books.invoice("c", 2)
    assert books.only("duplicate_invoices")["target_id"] == "INV-b, INV-c"


def test_an_amount_mismatch(books):
    books.clean(1)
    books.order(2, total="30.00")
    books.invoice("i2", 2, total="25.00")
    assert books.only("amount_mismatch")["difference"] == Decimal("-5.00")


def test_a_customer_mismatch_but_not_our_own_disambiguated_name(books):
    books.clean(1)
    books.order(2, customer="Asha Rao", email="asha2@example.com")
    books.invoice("i2", 2, customer="Asha Rao (asha2@example.com)")
    assert books.exceptions() == []
    books.order(3, customer="Ravi Kumar")
    books.invoice("i3", 3, customer="R. Kumar & Sons")
    assert books.only("customer_mismatch")["source_id"] == "3"


def test_a_cancelled_order_with_a_live_invoice(books):
    books.order(1, status="cancelled")
    books.invoice("i1", 1)
    assert books.only("cancelled_invoice_live")["source_id"] == "1"


def test_a_label_without_journal_and_a_journal_without_label(books):
    books.clean(1)
    books.label(3001, 1)
    assert books.only("label_without_journal")["source_id"] == "3001"
    books.journal("jx", "ss-label-3001")
    books.journal("jy", "ss-label-4444")
    assert books.only("journal_without_label")["target_id"] == "jy"


def test_a_daily_journal_covers_its_days_labels(books):
    books.clean(1)
    books.label(3001, 1)
    books.journal("day", f"ss-labels-{D1.isoformat()}")
    assert books.exceptions() == []


def test_a_voided_label_whose_journal_was_not_reversed(books):
    books.clean(1)
    books.label(2001, 1, voided=True)  # a newer snapshot of the same label: now voided
    books.conn.execute("UPDATE recon_sz_labels SET fetched_at = fetched_at + INTERVAL 1 HOUR WHERE voided")
    assert books.only("voided_label_not_reversed")["source_id"] == "2001"
    books.journal("rev", "ss-label-2001-void")
    assert books.exceptions() == []


def test_a_failed_sync_record_is_reported_with_its_reason(books):
    books.clean(1)
    stamp = datetime(2026, 3, 2, 9, tzinfo=UTC).timestamp()
    engine.load_ledger(books.conn, [Entry(
        flow="shipstation_zoho.invoices", source_id="7", target="zoho_books", external_key="ss-order-7",
        state="failed", action="create", target_id=None, posted_hash=None, cancelled=False, attempts=1,
        last_error="no Zoho contact", owner=None, detail={"order_number": "WC-7"}, source_payload=None,
        claimed_at=None, updated_at=stamp)], now=NOW, lease_seconds=900)
    row = books.only("sync_failed")
    assert row["explained"] and "no Zoho contact" in row["reason"]


def test_the_pack_sits_beside_the_tally_pack():
    check_packs([tally_pack(), rule_pack()])
