"""Reading one page ahead on a worker thread: order kept, one item ahead at most, errors where they belong,
the source closed on its own thread; and staging a run's pages through it."""

from __future__ import annotations

import contextvars
import threading
import time
from datetime import UTC, datetime

import pytest

from connectors.common.prefetch import Prefetch
from state import staging
from state.staging import StagingStore

T0 = datetime(2026, 4, 1, tzinfo=UTC)


class Source:
    """A paged source that records what was asked of it, and on which thread."""

    def __init__(self, pages: int, fail_at: int | None = None) -> None:
        self.pages, self.fail_at = pages, fail_at
        self.asked: list[int] = []
        self.taken = 0  # set by the consumer as it takes items
        self.ran_ahead: list[tuple[int, int]] = []
        self.threads: set[str] = set()
        self.closed_on: str | None = None

    def __iter__(self):
        try:
            for n in range(self.pages):
                self.threads.add(threading.current_thread().name)
                self.asked.append(n)
                if n > self.taken:  # asked for item n before the caller took item n - 1
                    self.ran_ahead.append((n, self.taken))
                if n == self.fail_at:
                    raise ConnectionError(f"page {n} failed")
                yield [{"orderId": n * 10 + i, "orderNumber": f"SO-{n}-{i}"} for i in range(3)]
        finally:
            self.closed_on = threading.current_thread().name


def test_items_come_in_the_sources_order_read_on_another_thread():
    source = Source(25)
    with Prefetch(source, name="reader") as ahead:
        got = []
        for page in ahead:
            source.taken += 1
            got.append(page[0]["orderId"] // 10)
    assert got == list(range(25))
    assert source.threads == {"reader"} and source.closed_on == "reader"


def test_the_next_item_is_asked_for_only_once_the_previous_was_taken():
    source = Source(12)
    with Prefetch(source) as ahead:
        for _ in ahead:
            source.taken += 1
            time.sleep(0.005)  # room for a worker that reads further ahead than one item to do so
            # while the caller holds item k, the source has been asked for item k + 1 at most
            assert len(source.asked) <= source.taken + 1
    assert source.ran_ahead == [] and source.asked == list(range(12))


def test_an_error_comes_after_every_item_before_it_and_nothing_after_it_is_read():
    source = Source(10, fail_at=4)
    got = []
    with pytest.raises(ConnectionError, match="page 4 failed"), Prefetch(source) as ahead:
        for page in ahead:
            source.taken += 1
            got.append(page[0]["orderId"] // 10)
    assert got == [0, 1, 2, 3] and source.asked == [0, 1, 2, 3, 4]
    with pytest.raises(StopIteration):  # a finished prefetch stays finished
        next(ahead)


def test_leaving_early_closes_the_source_on_its_thread_and_stops_the_worker():
    source = Source(100)
    with Prefetch(source, name="reader") as ahead:
        next(ahead)
        source.taken += 1
    assert source.closed_on == "reader" and len(source.asked) <= 2
    assert not any(t.name == "reader" for t in threading.enumerate())


def test_an_unused_prefetch_starts_nothing_and_closes_quietly():
    source = Source(3)
    ahead = Prefetch(source)
    ahead.close()
    assert source.asked == [] and list(ahead) == []


def test_the_source_sees_the_callers_context_variables():
    var = contextvars.ContextVar("run_id", default="none")
    var.set("run-7")

    def pages():
        yield var.get()

    assert list(Prefetch(pages())) == ["run-7"]


def staged_ids(store: StagingStore, run_id: str) -> list[int]:
    return [o["orderId"] for chunk in store.iter_staged_orders(run_id) for o in chunk]


def columns(page: list[dict]) -> dict:
    return StagingStore.order_columns(page, [T0] * len(page))


def test_a_failing_page_leaves_the_pages_before_it_staged_and_none_after(tmp_path, monkeypatch):
    monkeypatch.setattr(staging, "STAGE_ROWS", 1000)  # every page gathered into one unit: written on the error
    store = StagingStore(tmp_path / "s.duckdb")
    source = Source(10, fail_at=3)
    with pytest.raises(ConnectionError), Prefetch(columns(page) for page in source) as ahead:
        store.stage_order_pages("run", T0, ahead)
    assert staged_ids(store, "run") == [n * 10 + i for n in range(3) for i in range(3)]
    assert source.asked == [0, 1, 2, 3]


def test_a_failing_write_stops_the_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(staging, "STAGE_ROWS", 6)  # two pages a unit
    store = StagingStore(tmp_path / "s.duckdb")
    real, writes = store._stage_unit, []

    def refused(*args, **kwargs):
        writes.append(args[2])
        if len(writes) == 2:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "_stage_unit", refused)
    source = Source(50)
    with pytest.raises(OSError, match="disk full"), Prefetch(columns(p) for p in source) as ahead:
        store.stage_order_pages("run", T0, ahead)
    assert writes == [0, 6]  # the second unit (pages 2-3) was refused: nothing after it was written
    assert staged_ids(store, "run") == [n * 10 + i for n in range(2) for i in range(3)]
    assert len(source.asked) <= 5  # page 4 was being read ahead at most; the source was closed then
    assert source.closed_on is not None
