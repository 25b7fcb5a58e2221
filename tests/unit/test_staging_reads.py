"""Reading a run's staged orders back with few DuckDB opens per pass; staging a page in a small buffer pool."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from state import staging
from state.staging import StagingStore

T0 = datetime(2026, 4, 1, tzinfo=UTC)


def orders(n: int) -> list[dict]:
    return [{"orderId": i, "orderNumber": f"SO-{i}", "orderTotal": total, "items": [{"sku": "TEA"}]}
            for i, total in zip(range(n), ["10.50", 7, 0.1, None, "1E+2"] * n, strict=False)]


@pytest.fixture
def store(tmp_path, monkeypatch):
    return counting_opens(StagingStore(tmp_path / "s.duckdb"), monkeypatch)


def counting_opens(store: StagingStore, monkeypatch) -> StagingStore:
    """The store, counting the DuckDB connections it opens in `store.opens`."""
    store.opens = 0
    real = store._open

    def counted(*args):
        store.opens += 1
        return real(*args)

    monkeypatch.setattr(store, "_open", counted)
    return store


def test_a_pass_opens_duckdb_once_per_block_of_rows_not_per_chunk(store, monkeypatch):
    monkeypatch.setattr(staging, "READ_ROWS", 40)
    store.stage_orders("run", 0, T0, orders(100), [T0] * 100)
    store.opens = 0
    chunks = list(store.iter_staged_orders("run", chunk=10))
    assert [o["orderId"] for c in chunks for o in c] == list(range(100)) and {len(c) for c in chunks} == {10}
    assert store.opens == 3  # 40 + 40 + 20 rows: a short block ends the pass


def test_a_chunk_larger_than_a_block_is_read_whole(store, monkeypatch):
    monkeypatch.setattr(staging, "READ_ROWS", 4)
    store.stage_orders("run", 0, T0, orders(10), [T0] * 10)
    assert [len(c) for c in store.iter_staged_orders("run", chunk=6)] == [6, 4]


def test_a_page_too_big_for_the_small_buffer_pool_is_staged_with_more_room(store, monkeypatch):
    monkeypatch.setattr(staging, "PAGE_MEMORY_LIMIT", "256KB")
    big = [{"orderId": i, "orderNumber": f"SO-{i}", "orderTotal": "1.00", "note": "x" * 20_000} for i in range(300)]
    store.opens = 0
    assert store.stage_orders("run", 0, T0, big, [T0] * 300) == 300
    assert store.opens == 2  # refused for memory, then written whole: nothing of the first try was kept
    assert [o["orderId"] for c in store.iter_staged_orders("run") for o in c] == list(range(300))
