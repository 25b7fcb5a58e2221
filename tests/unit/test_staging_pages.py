"""A run's pages gathered into few DuckDB units; each order's party staged beside it and the orders of
parties a caller lacks read back without decoding the others; a file staged before the party column."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from state import staging
from state.staging import StagingStore
from tests.unit.test_staging_reads import counting_opens

T0 = datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture
def store(tmp_path, monkeypatch):
    return counting_opens(StagingStore(tmp_path / "s.duckdb"), monkeypatch)


def page(first: int, n: int, parties: list[str | None] | None = None, note: str = "") -> dict:
    orders = [{"orderId": i, "orderNumber": f"SO-{i}", "note": note} for i in range(first, first + n)]
    return StagingStore.order_columns(orders, [T0] * n, parties)


def staged(store: StagingStore, run_id: str = "run") -> list[int]:
    return [o["orderId"] for chunk in store.iter_staged_orders(run_id) for o in chunk]


def test_pages_are_gathered_into_units_of_stage_rows_in_order(store, monkeypatch):
    monkeypatch.setattr(staging, "STAGE_ROWS", 20)
    assert store.stage_order_pages("run", T0, (page(i * 5, 5) for i in range(10))) == 50
    assert store.opens == 3  # 20 + 20 + 10 rows
    assert staged(store) == list(range(50))
    with store.connect() as conn:
        seqs = conn.execute("SELECT seq FROM shipstation_orders_staged WHERE run_id = 'run' ORDER BY seq").fetchall()
    assert [s for (s,) in seqs] == list(range(50))


def test_long_records_make_smaller_units(store, monkeypatch):
    monkeypatch.setattr(staging, "STAGE_CHARS", 1_000)
    assert store.stage_order_pages("run", T0, (page(i * 5, 5, note="x" * 100) for i in range(6))) == 30
    assert store.opens == 3  # ~1,450 characters of raw text in two pages of five
    assert staged(store) == list(range(30))


def test_empty_pages_add_nothing_and_a_run_of_none_opens_nothing(store):
    assert store.stage_order_pages("run", T0, [page(0, 0), page(0, 3), page(3, 0)], first_seq=4) == 7
    assert store.opens == 1
    store.opens = 0
    assert store.stage_order_pages("other", T0, []) == 0 and store.opens == 0


def test_pages_with_other_columns_than_the_runs_are_refused(store):
    other = {k: v for k, v in page(5, 2).items() if k != "party"}
    with pytest.raises(ValueError, match="shipstation_orders_staged: page columns"):
        store.stage_order_pages("run", T0, [page(0, 2), other])


def test_an_error_reading_the_pages_writes_those_read_before_it_then_goes_on(store, monkeypatch):
    monkeypatch.setattr(staging, "STAGE_ROWS", 8)

    def pages():
        yield page(0, 5)
        yield page(5, 5)  # 10 rows: written
        yield page(10, 3)
        raise TimeoutError("page 4")

    with pytest.raises(TimeoutError, match="page 4"):
        store.stage_order_pages("run", T0, pages())
    assert store.opens == 2 and staged(store) == list(range(13))


def test_only_orders_of_parties_not_known_or_not_staged_are_decoded(store):
    parties = ["Asha", "Ravi", None, "Asha", "Meera", "Ravi", "Zed", "Asha", "Meera", "Zed"]
    store.stage_orders("run", 0, T0, [{"orderId": i, "orderNumber": f"SO-{i}"} for i in range(10)], [T0] * 10,
                       parties)
    store.stage_orders("old-run", 0, T0, [{"orderId": 99, "orderNumber": "SO-99"}], [T0])  # no parties: NULL
    known = {"Asha", "Ravi"}
    seen = []
    for chunk in store.iter_staged_orders_of_unknown_party("run", known, chunk=4):
        seen.append([o["orderId"] for o in chunk])
        if 4 in seen[-1]:
            known.add("Meera")  # the caller created the ledger order 4 needs
    # groups are seqs 0-3, 4-7, 8-9: order 2 has no party, 4 and 6 parties the caller lacked; Meera's
    # order 8 is not decoded once the caller knows her
    assert seen == [[2], [4, 6], [9]]
    assert [[o["orderId"] for o in c] for c in store.iter_staged_orders_of_unknown_party("old-run", set())] == [[99]]


def test_when_every_party_is_known_one_connection_reads_nothing(store):
    store.stage_orders("run", 0, T0, [{"orderId": i, "orderNumber": f"SO-{i}"} for i in range(6)], [T0] * 6,
                       ["Asha", "Ravi"] * 3)
    store.opens = 0
    assert list(store.iter_staged_orders_of_unknown_party("run", {"Asha", "Ravi", "Other"})) == []
    assert store.opens == 1


def test_blocks_hold_whole_groups_and_a_block_whose_parties_became_known_is_not_read(store, monkeypatch):
    monkeypatch.setattr(staging, "READ_ROWS", 7)  # blocks of one group of 5 (whole groups only)
    n = 16
    parties = ["Asha", "Ravi", "Asha", "Ravi", "Asha", "Ravi", "Meera", "Asha", "Ravi", "Asha",
               "Asha", "Ravi", "Asha", "Ravi", "Asha", "Zed"]
    store.stage_orders("run", 0, T0, [{"orderId": i, "orderNumber": f"SO-{i}"} for i in range(n)], [T0] * n, parties)
    store.opens, known, groups = 0, set(), []
    for chunk in store.iter_staged_orders_of_unknown_party("run", known, chunk=5):
        groups.append([o["orderId"] for o in chunk])
        known.update({"Asha", "Ravi"})  # the caller created their ledgers from the first group
    assert groups == [[0, 1, 2, 3, 4], [6], [15]]
    assert store.opens == 1 + 2 + 1  # the blocks, then seqs 0-4, 5-9 (Meera's), not 10-14, then 15


def test_a_file_staged_before_the_party_column_still_works(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as conn:  # the table as an earlier version created and filled it
        conn.execute("""CREATE TABLE shipstation_orders_staged (
            run_id VARCHAR NOT NULL, seq BIGINT NOT NULL, order_id BIGINT NOT NULL, order_number VARCHAR,
            order_status VARCHAR, modify_date TIMESTAMPTZ, fetched_at TIMESTAMPTZ NOT NULL, raw VARCHAR NOT NULL)""")
        conn.execute("INSERT INTO shipstation_orders_staged VALUES ('old', 0, 7, 'SO-7', 'awaiting_shipment', NULL,"
                     " '2026-04-01 00:00:00+00', '{\"orderId\": 7, \"billTo\": {\"name\": \"Asha\"}}')")
    store = StagingStore(path)
    assert [[o["orderId"] for o in c] for c in store.iter_staged_orders_of_unknown_party("old", {"Asha"})] == [[7]]
    store.stage_orders("new", 0, T0, [{"orderId": 8, "orderNumber": "SO-8"}], [T0], ["Asha"])
    assert list(store.iter_staged_orders_of_unknown_party("new", {"Asha"})) == []
    with store.connect() as conn:
        assert conn.execute("SELECT order_id, party FROM shipstation_orders_staged ORDER BY order_id").fetchall() == [
            (7, None), (8, "Asha")]


def test_masters_we_created_join_the_snapshot_in_one_connection_once_each(store):
    store.replace_tally_ledgers(T0, [("Asha", "Sundry Debtors", ["asha@example.in"])])
    store.replace_tally_stock_items(T0, [{"name": "TEA-1", "aliases": ["8901"], "base_unit": "pcs", "closing_qty": 4}])
    store.opens = 0
    store.add_tally_ledgers(T0, ["Ravi", "Asha", "Meera", "Ravi"])
    store.add_tally_stock_items(T0, [("TEA-2", "kg", "Teas"), ("TEA-1", "box", None)])
    store.add_tally_ledgers(T0, [])
    assert store.opens == 2
    assert sorted(store.tally_ledgers()) == [("Asha", ["asha@example.in"]), ("Meera", []), ("Ravi", [])]
    assert sorted(store.tally_stock_items()) == [("TEA-1", ["8901"], "pcs"), ("TEA-2", [], "kg")]
    assert store.tally_closing_stock() == {"TEA-1": 4, "TEA-2": 0}


def test_only_a_runs_last_unit_vacuums_and_leaves_its_row_groups_merged(tmp_path, monkeypatch):
    monkeypatch.setattr(staging, "STAGE_ROWS", 10)
    store, vacuums = StagingStore(tmp_path / "s.duckdb"), []
    real = store._open

    def noted(*args):
        conn = real(*args)
        vacuums.append(conn.execute("SELECT current_setting('max_vacuum_tasks')").fetchone()[0])
        return conn

    monkeypatch.setattr(store, "_open", noted)
    assert store.stage_order_pages("run", T0, (page(i * 10, 10) for i in range(5))) == 50
    assert vacuums[:4] == [0] * 4 and vacuums[4] > 0 and len(vacuums) == 5
    with store.connect() as conn:
        groups = conn.execute("SELECT count(DISTINCT row_group_id)"
                              " FROM pragma_storage_info('shipstation_orders_staged')").fetchone()[0]
    assert groups == 1 and staged(store) == list(range(50))


def test_shipment_pages_are_gathered_too(store, monkeypatch):
    monkeypatch.setattr(staging, "STAGE_ROWS", 4)
    labels = [{"shipmentId": 100 + i, "orderId": i if i % 3 else None, "voided": i == 2} for i in range(9)]
    pages = (StagingStore.shipment_columns(labels[i:i + 3], [(T0, None)] * 3) for i in range(0, 9, 3))
    assert store.stage_shipment_pages("run", T0, pages) == 9 and store.opens == 2  # 6 rows, then 3
    assert [s["shipmentId"] for c in store.iter_staged_shipments("run") for s in c] == list(range(100, 109))
    assert sorted(store.staged_shipment_ids("run")) == list(range(100, 109))
