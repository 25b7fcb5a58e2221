"""The Acumatica ↔ ShipStation rule pack: every category from a scenario built to cause it, found once, with
its owner; a clean day finds nothing."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pytest

from pipelines.acumatica_shipstation.recon import PAIR, rule_pack
from pipelines.acumatica_shipstation.recon.scope import FREIGHT_FLOW, ORDERS_FLOW, SHIPMENTS_FLOW
from pipelines.acumatica_shipstation.recon.tables import CATEGORIES
from pipelines.reconciliation import engine, tables
from state.ledger import Entry

D1 = date(2026, 3, 2)
FETCHED = datetime(2026, 3, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 3, 2, tzinfo=UTC)
TZ = "America/Los_Angeles"


class Books:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn, self.ledger, self.next_label = conn, [], 1000
        for statement in tables.ddl([rule_pack()]):
            conn.execute(statement)

    def put(self, table: str, **row) -> None:
        names = ", ".join(f"? AS {name}" for name in row)
        self.conn.execute(f"INSERT INTO {table} BY NAME SELECT {names}", list(row.values()))

    def order(self, nbr: str, *, status="Open", currency="USD", ss_status="awaiting_shipment", in_ss=True,
              copies=1, source="acumatica") -> int:
        self.put("recon_as_orders", day=D1, order_key=nbr, order_type="SO", order_nbr=nbr, status=status,
                 customer_id="C1", currency_id=currency, order_total=Decimal("25.00"), freight=Decimal("4.75"),
                 fetched_at=FETCHED)
        oid = int(nbr[-3:]) * 10
        for n in range(copies if in_ss else 0):
            self.put("recon_as_ss_orders", day=D1, order_id=oid + n, order_key=nbr if n == 0 else f"import-{nbr}",
                     order_number=nbr, order_status=ss_status, source=source, fetched_at=FETCHED)
        return oid

    def label(self, nbr: str, oid: int, *, voided=False, cost="6.42", shipment=True, status="Open",
              freight=None, tracking=None, scanned=True, package_tracking=None) -> int:
        sid = self.next_label = self.next_label + 1
        number = tracking or f"94001{sid}"
        self.put("recon_as_labels", day=D1, shipment_id=sid, order_id=oid, order_key=nbr, order_number=nbr,
                 tracking_number=number, carrier_code="stamps_com", voided=voided, cost=Decimal(cost),
                 fetched_at=FETCHED)
        if shipment:
            self.package(f"S{sid}", nbr, f"ss-label-{sid}", package_tracking or number, status=status,
                         freight=Decimal(freight) if freight else Decimal(cost))
        self.put("recon_as_tracking", day=D1, shipment_id=sid, tracking_number=number,
                 status="in_transit" if scanned else "unknown", carrier_has_parcel=scanned, fetched_at=FETCHED)
        return sid

    def package(self, nbr: str, order_key: str, ext_key: str, tracking: str, *, status="Open", freight=None) -> None:
        self.put("recon_as_packages", day=D1, shipment_nbr=nbr, status=status, order_key=order_key, ext_key=ext_key,
                 tracking_number=tracking, freight_cost=freight, fetched_at=FETCHED)

    def failed(self, flow: str, source_id: str, error: str) -> None:
        self.ledger.append(Entry(flow, source_id, "acumatica", f"key-{source_id}", "failed", "create", None, None,
                                 False, 1, error, None, {}, None, None, time.time()))

    def reconcile(self):
        engine.load_ledger(self.conn, self.ledger, now=NOW, lease_seconds=900)
        result = engine.reconcile_day(self.conn, rule_pack(), D1, now=NOW, timezone=TZ)
        rows = self.conn.execute("SELECT category, owner, source_id, reason FROM recon_exceptions "
                                 "WHERE pair = ? ORDER BY category, source_id", [PAIR]).fetchall()
        return result, rows


@pytest.fixture
def books():
    conn = duckdb.connect(config={"memory_limit": "128MB", "threads": 1})
    yield Books(conn)
    conn.close()


def clean(books: Books, nbr: str = "SO000100") -> None:
    oid = books.order(nbr)
    books.label(nbr, oid)


def test_a_clean_day_has_no_exceptions(books):
    clean(books, "SO000100")
    clean(books, "SO000101")
    result, rows = books.reconcile()
    assert rows == [] and result.exceptions == 0
    assert result.totals["orders"] == 2 and result.totals["matched"] == 2 and result.totals["shipments"] == 2


def test_every_category_is_found_once_by_the_scenario_that_causes_it(books):
    clean(books, "SO000100")
    # status mismatch: cancelled in Acumatica, still awaiting shipment in ShipStation
    books.order("SO000201", status="Canceled")
    # late edit: ShipStation shipped it, Acumatica was edited after (the ledger holds the refusal)
    books.order("SO000202", ss_status="shipped")
    books.failed(ORDERS_FLOW, "SO000202", "late edit: ShipStation order SO000202 (orderId 2020) is shipped ...")
    # tracking write-back failed: the label's shipment never reached Acumatica
    oid = books.order("SO000203")
    no_shipment = books.label("SO000203", oid, shipment=False)
    books.failed(SHIPMENTS_FLOW, str(no_shipment), "tracking write-back failed: shipment 000009 saved without ...")
    # duplicate order attempt: a store import made a second copy of the order
    books.order("SO000204", copies=2)
    # orphaned shipment: a label of an order that came from Acumatica, which Acumatica does not have
    books.put("recon_as_ss_orders", day=D1, order_id=2050, order_key="SO000205", order_number="SO000205",
              order_status="shipped", source="acumatica", fetched_at=FETCHED)
    orphan = books.label("SO000205", 2050, shipment=False)
    # shipping cost variance: Acumatica books 9.99 of freight for a 6.42 label
    oid = books.order("SO000206")
    variance = books.label("SO000206", oid, freight="9.99")
    # currency mismatch: a EUR order for a USD store; and a label cost that could not be booked
    books.order("SO000207", currency="EUR")
    oid = books.order("SO000208")
    unbooked = books.label("SO000208", oid)
    books.failed(FREIGHT_FLOW, str(unbooked), "currency mismatch: postage is 6.42 INR but the books are in USD")
    # fulfilled without a scan: confirmed in Acumatica, no carrier scan yet
    oid = books.order("SO000209")
    unscanned = books.label("SO000209", oid, status="Confirmed", scanned=False)

    result, rows = books.reconcile()
    found = [(category, owner, source) for category, owner, source, _ in rows]
    assert found == sorted([
        ("currency_mismatch", "finance", "SO000207"),
        ("currency_mismatch", "finance", str(unbooked)),
        ("duplicate_order_attempt", "operations", "SO000204"),
        ("fulfilled_without_scan", "operations", f"S{unscanned}"),
        ("late_edit", "operations", "SO000202"),
        ("orphaned_shipment", "operations", str(orphan)),
        ("shipping_cost_variance", "finance", str(variance)),
        ("status_mismatch", "operations", "SO000201"),
        ("tracking_writeback_failed", "operations", str(no_shipment)),
    ])
    assert {c for c, _, _ in found} == set(CATEGORIES)
    assert all(owner == CATEGORIES[c][0] for c, owner, _ in found)
    reasons = {c: r for c, _, _, r in rows}
    assert "is Canceled in Acumatica but awaiting_shipment in ShipStation" in reasons["status_mismatch"]
    assert "cost $6.42 but Acumatica shipment" in reasons["shipping_cost_variance"]
    assert "in ShipStation 2 times" in reasons["duplicate_order_attempt"]
    assert result.totals["matched"] == result.totals["orders"] - 4  # 201, 202, 204, 207


def test_a_voided_label_whose_shipment_is_still_in_acumatica_is_an_orphaned_shipment(books):
    oid = books.order("SO000300")
    sid = books.label("SO000300", oid, voided=True)
    result, rows = books.reconcile()
    assert [(c, s) for c, _, s, _ in rows] == [("orphaned_shipment", f"S{sid}")]
    assert "is voided" in rows[0][3]


def test_a_late_edit_is_not_also_a_status_mismatch(books):
    books.order("SO000400", status="Canceled", ss_status="shipped")
    books.failed(ORDERS_FLOW, "SO000400", "late edit: ShipStation order SO000400 is shipped and cannot change")
    _, rows = books.reconcile()
    assert [c for c, *_ in rows] == ["late_edit"]
