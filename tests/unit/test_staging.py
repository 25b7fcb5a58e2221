"""DuckDB staging: pages staged per run, re-staging idempotent, latest snapshot per order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from state.staging import StagingStore

T0 = datetime(2026, 4, 1, tzinfo=UTC)


def orders(n: int, status: str = "awaiting_shipment") -> list[dict]:
    return [{"orderId": i, "orderNumber": f"SO-{i}", "orderStatus": status, "orderTotal": "10.50"} for i in range(n)]


def test_pages_are_read_back_in_order_and_in_chunks(tmp_path):
    store = StagingStore(tmp_path / "s.duckdb")
    seq = store.stage_orders("run-1", 0, T0, orders(7), [T0] * 7)
    seq = store.stage_orders("run-1", seq, T0, orders(3), [T0] * 3)
    chunks = list(store.iter_staged_orders("run-1", chunk=4))
    assert [len(c) for c in chunks] == [4, 4, 2]
    assert [o["orderId"] for c in chunks for o in c] == [*range(7), *range(3)]
    assert chunks[0][0]["orderTotal"] == "10.50"
    assert list(store.iter_staged_orders("other-run")) == []


def test_restaging_a_page_replaces_it_and_the_view_keeps_the_newest_fetch(tmp_path):
    store = StagingStore(tmp_path / "s.duckdb")
    store.stage_orders("run-1", 0, T0, orders(5), [T0] * 5)
    store.stage_orders("run-1", 0, T0, orders(5), [T0] * 5)  # a retried step stages the same page again
    assert sum(len(c) for c in store.iter_staged_orders("run-1")) == 5
    store.stage_orders("run-2", 0, T0 + timedelta(hours=1), orders(2, "cancelled"), [T0] * 2)
    with store.connect() as conn:
        rows = conn.execute("SELECT order_id, order_status FROM shipstation_orders ORDER BY order_id").fetchall()
    assert rows == [(0, "cancelled"), (1, "cancelled"), (2, "awaiting_shipment"), (3, "awaiting_shipment"),
                    (4, "awaiting_shipment")]
    assert sorted(store.staged_order_ids("run-2")) == [0, 1]


def test_shipments_are_staged_per_run_and_restaging_a_page_replaces_it(tmp_path):
    store = StagingStore(tmp_path / "s.duckdb")
    now = datetime(2026, 4, 1, tzinfo=UTC)
    page = [{"shipmentId": 1, "orderId": 10, "voided": False}, {"shipmentId": 2, "orderId": None, "voided": True}]
    assert store.stage_shipments("run", 0, now, page, [(now, None), (now, now)]) == 2
    assert store.stage_shipments("run", 0, now, page, [(now, None), (now, now)]) == 2  # a retried page
    assert [s["shipmentId"] for chunk in store.iter_staged_shipments("run", chunk=1) for s in chunk] == [1, 2]
    assert sorted(store.staged_shipment_ids("run")) == [1, 2] and store.staged_shipment_ids("other") == []


def test_orders_by_id_gives_the_newest_snapshot(tmp_path):
    store = StagingStore(tmp_path / "s.duckdb")
    early, late = datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC)
    store.stage_orders("a", 0, early, [{"orderId": 5, "orderStatus": "awaiting_shipment"}], [None])
    store.stage_orders("b", 0, late, [{"orderId": 5, "orderStatus": "shipped"}], [None])
    assert store.orders_by_id([5, 6]) == {5: {"orderId": 5, "orderStatus": "shipped"}}
    assert store.orders_by_id([]) == {}
