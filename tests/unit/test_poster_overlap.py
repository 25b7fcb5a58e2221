"""The poster prepares and claims the next batch while the target answers this one (`overlap`).

The target's calls run on one sender thread, one at a time; outcomes are recorded on the run's
thread before the next batch is sent. These tests hold a target call open and watch what the run's
thread does meanwhile, then break the target mid-run and check that what was claimed but never sent
is given back, what may have landed is looked up, and a second run posts everything exactly once.
"""

from __future__ import annotations

import threading

import pytest

from pipelines.posting import Created, Poster
from state.ledger import SyncLedger
from tests.unit.test_poster import FLOW, Down, Lost, UpsertTarget
from tests.unit.test_poster import DictPoster as PlainPoster


class DictPoster(PlainPoster):
    overlap = True  # its prepare never calls the target


class WatchedTarget(UpsertTarget):
    """Records which thread made each call, whether two calls ever overlapped, and can hold a create open
    until the poster has prepared a given record."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls: list[tuple[str, str]] = []  # (call, thread name)
        self.active = 0
        self.overlapping = False
        self.hold_until: threading.Event | None = None
        self.held_seconds = 0.0
        self.fail_create: int | None = None  # the n-th create raises `failure`
        self.failure: BaseException = Down("connection refused")
        self._lock = threading.Lock()

    def _enter(self, name: str) -> None:
        with self._lock:
            self.active += 1
            self.overlapping |= self.active > 1
            self.calls.append((name, threading.current_thread().name))

    def _leave(self) -> None:
        with self._lock:
            self.active -= 1

    def create(self, items):
        self._enter("create")
        try:
            creates = sum(1 for name, _ in self.calls if name == "create")
            if self.fail_create == creates:
                if isinstance(self.failure, Lost):  # applied, then the answer was lost
                    super().create(items)
                raise self.failure
            if self.hold_until is not None and creates == 1:
                self.hold_until.wait(timeout=10)
            return super().create(items)
        finally:
            self._leave()

    def find(self, pending):
        self._enter("find")
        try:
            return super().find(pending)
        finally:
            self._leave()

    def settle(self):
        self._enter("settle")
        try:
            return super().settle()
        finally:
            self._leave()


class SignallingPoster(DictPoster):
    """Sets an event when it prepares the record with id `signal_at`; can fail on a record."""

    def __init__(self, *args, signal_at: str = "", event: threading.Event | None = None,
                 explode_at: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.signal_at, self.event, self.explode_at = signal_at, event, explode_at
        self.prepared_while_sending = False

    def prepare(self, record):
        if record["id"] == self.explode_at:
            raise RuntimeError(f"record {record['id']}: cannot be read")
        if record["id"] == self.signal_at and self.event is not None:
            self.prepared_while_sending = self.target.active > 0
            self.event.set()
        return super().prepare(record)


def records(n: int, first: int = 1) -> list[dict]:
    return [{"id": f"r{i}", "amount": i} for i in range(first, first + n)]


@pytest.fixture
def ledger(tmp_path):
    return SyncLedger(tmp_path / "ledger.sqlite3")


def states(ledger: SyncLedger) -> dict[str, str]:
    return {e.source_id: e.state for e in ledger.entries(FLOW)}


def test_the_next_batch_is_prepared_while_the_first_is_in_flight(ledger):
    target, event = WatchedTarget(), threading.Event()
    target.hold_until = event  # the first create waits (up to 10 s) until record r3 of the next batch is prepared
    poster = SignallingPoster(target, ledger, "run", batch_size=2, signal_at="r3", event=event)
    poster.post(records(6))
    assert poster.prepared_while_sending  # r3 was prepared while the first create was still open
    assert poster.report.created == 6 and len(target.records) == 6
    assert not target.overlapping  # never two target calls at once
    assert {thread for _, thread in target.calls} != {threading.current_thread().name}
    assert len({thread for _, thread in target.calls}) == 1  # one sender thread for every call
    assert set(states(ledger).values()) == {"posted"}


@pytest.mark.parametrize("off", [{"overlap": False}, {}], ids=["turned-off", "not-declared"])
def test_without_overlap_every_call_is_made_on_the_run_thread_one_batch_after_another(ledger, off):
    target, event = WatchedTarget(), threading.Event()

    class Plain(SignallingPoster):  # declares overlap, turned off by the caller; or as a poster that does not
        overlap = True if off else Poster.overlap

    poster = Plain(target, ledger, "run", batch_size=2, signal_at="r3", event=event, **off)
    poster.post(records(6))
    assert not poster.prepared_while_sending
    assert {thread for _, thread in target.calls} == {threading.current_thread().name}
    assert poster.report.created == 6


def test_a_batch_claimed_but_never_sent_is_given_back_when_the_target_goes_down(ledger):
    target = WatchedTarget()
    target.fail_create = 2  # the second batch cannot be delivered; the third is claimed by then
    poster = DictPoster(target, ledger, "run", batch_size=2)
    with pytest.raises(Down):
        poster.post(records(8))
    done = states(ledger)
    assert [done[f"r{i}"] for i in (1, 2)] == ["posted", "posted"]
    assert [done[f"r{i}"] for i in (3, 4)] == ["failed", "failed"]  # not delivered: released, transient
    claimed_after = {sid for sid, state in done.items() if sid not in {"r1", "r2", "r3", "r4"}}
    assert all(done[sid] == "failed" for sid in claimed_after)  # claimed while r3, r4 were in flight, never sent
    assert {f"key-r{i}" for i in (5, 6, 7, 8)}.isdisjoint(target.records)
    assert not any(e.state == "pending" for e in ledger.entries(FLOW))
    errors = {e.source_id: e.last_error for e in ledger.entries(FLOW)}
    assert all("stopped before sending" in errors[sid] for sid in claimed_after)
    target.fail_create = None
    again = DictPoster(target, ledger, "run2", batch_size=2)
    again.post(records(8))
    assert set(states(ledger).values()) == {"posted"} and len(target.records) == 8
    assert target.writes == 8  # each record written once over both runs


def test_a_lost_answer_leaves_its_batch_for_a_lookup_and_the_next_run_finds_it(ledger):
    target = WatchedTarget()
    target.fail_create, target.failure = 2, Lost("read timed out after the request was sent")
    poster = DictPoster(target, ledger, "run", batch_size=2)
    with pytest.raises(Lost):
        poster.post(records(8))
    pending = {e.source_id: e.owner for e in ledger.entries(FLOW) if e.state == "pending"}
    assert pending == {"r3": None, "r4": None}  # may have landed: unowned, to be looked up first
    target.fail_create = None
    again = DictPoster(target, ledger, "run2", batch_size=2)
    again.post(records(8))
    assert again.report.resolved == 2
    assert set(states(ledger).values()) == {"posted"} and len(target.records) == 8  # no record twice
    assert target.writes == 8 + 2  # r3 and r4 were found, then altered to what they say now, not created again


def test_a_record_that_breaks_the_run_still_lets_the_batch_in_flight_be_recorded(ledger):
    target = WatchedTarget()
    poster = SignallingPoster(target, ledger, "run", batch_size=2, explode_at="r3")
    with pytest.raises(RuntimeError, match="r3"):
        poster.post(records(6))
    assert states(ledger) == {"r1": "posted", "r2": "posted"}  # the batch in flight was sent and recorded


class DeferringTarget(WatchedTarget):
    """Confirms creates whole and learns their ids at `settle`, like TallyPrime's clean imports."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.waiting: list[str] = []

    def create(self, items):
        out = super().create(items)
        self.waiting += list(out.landed)
        return Created(deferred=set(out.landed))

    def settle(self):
        self._enter("settle")
        try:
            landed = {key: self.records[key]["id"] for key in self.waiting}
            self.waiting = []
            return Created(landed=landed)
        finally:
            self._leave()


def test_a_window_is_settled_on_the_sender_before_the_next_batch_is_written(ledger):
    target = DeferringTarget()
    poster = DictPoster(target, ledger, "run", batch_size=2, settle_every=4)
    poster.post(records(9))
    names = [name for name, _ in target.calls]
    assert names == ["create", "create", "settle", "create", "create", "settle", "create", "settle"]
    assert not target.overlapping and len({thread for _, thread in target.calls}) == 1
    assert set(states(ledger).values()) == {"posted"} and poster.report.created == 9
    assert {e.target_id for e in ledger.entries(FLOW)} == {r["id"] for r in target.records.values()}


def test_the_ledger_takes_writes_from_the_sender_thread_beside_the_run(ledger):
    """The audit trail is written from the sender while the run's thread claims the next batch."""

    class AuditingTarget(WatchedTarget):
        def create(self, items):
            for item in items:
                ledger.audit.record(system="upserts", kind="create", request=item.key.encode(), response=b"ok",
                                    run_id="run", flow=FLOW, source_ids=[item.candidate.source_id])
            return super().create(items)

    target = AuditingTarget()
    poster = DictPoster(target, ledger, "run", batch_size=3)
    poster.post(records(60))
    assert set(states(ledger).values()) == {"posted"} and len(states(ledger)) == 60
    assert ledger.audit.count() == 60


def test_batches_cut_ahead_still_grow_and_are_sent_in_halves_after_a_refusal(ledger):
    """A batch is cut while the one before it is in flight, at the size a clean answer would give; when that
    answer was a refusal the size halves, and the batch already cut goes out in two parts."""
    target, sizes = WatchedTarget(), []
    original = target.create

    def spy(items):
        sizes.append(len(items))
        return original(items)

    target.create = spy
    poster = DictPoster(target, ledger, "run", batch_size=10, batch_ceiling=80)
    rows = [*records(150), {"id": "bad", "amount": 1, "refuse": True}, *records(200, first=151)]
    poster.post(rows)
    assert sizes[:4] == [10, 20, 40, 80] and max(sizes) == 80
    refused_at = next(i for i, n in enumerate(sizes) if sum(sizes[:i + 1]) > 150)
    assert sizes[refused_at + 1] == sizes[refused_at] // 2  # the next batch, cut at 80, went as two halves
    assert sum(sizes) == len(rows) and poster.report.created == 350 and poster.report.failed == 1
    assert len(target.records) == 350 and not target.overlapping


def test_a_looked_up_record_the_run_stopped_before_sending_is_looked_up_again_never_created_again(ledger):
    """r3's create lost its answer; the next run looks r3 up (found: an alter), but the batch's create before
    that alter cannot be delivered. r3 must stay pending for another lookup: released, it would read as never
    posted and be created a second time in a target without idempotency (TallyPrime)."""
    target = WatchedTarget()
    created_twice: list[str] = []
    original = target.create

    def create(items):
        created_twice.extend(i.key for i in items if i.key in target.records)
        return original(items)

    target.create = create
    target.fail_create, target.failure = 2, Lost("read timed out after the request was sent")
    with pytest.raises(Lost):
        DictPoster(target, ledger, "run1", batch_size=2).post(records(4))
    assert {e.source_id for e in ledger.entries(FLOW) if e.state == "pending" and e.owner is None} == {"r3", "r4"}

    target.calls.clear()
    target.fail_create, target.failure = 1, Down("connection refused")  # the next create cannot be delivered
    batch = [records(1, first=9)[0], {"id": "r3", "amount": 33}]  # r9 is new (a create), r3 resolves to an alter
    with pytest.raises(Down):
        DictPoster(target, ledger, "run2", batch_size=2).post(batch)
    entries = {e.source_id: e for e in ledger.entries(FLOW)}
    assert entries["r9"].state == "failed" and entries["r9"].retry_kind == "transient"  # never reached the target
    assert entries["r3"].state == "pending" and entries["r3"].owner is None  # looked up again next time
    assert "looked up" in (entries["r3"].last_error or "")

    target.fail_create = None
    again = DictPoster(target, ledger, "run3", batch_size=2)
    again.post([*records(2), {"id": "r3", "amount": 33}, *records(1, first=4), *records(1, first=9)])
    assert created_twice == [] and again.report.resolved >= 1
    assert set(states(ledger).values()) == {"posted"} and target.records["key-r3"]["body"]["amount"] == 33


def test_a_ledger_write_from_another_thread_waits_for_the_open_one_instead_of_failing(ledger):
    """Both threads share the SQLite connection: a second transaction begun while one is open on it would be
    refused ("cannot start a transaction within a transaction"); the ledger makes it wait its turn."""
    opened, release, done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold_open():
        with ledger._write() as conn:
            conn.execute("INSERT INTO audit (at, system, kind, request, response) VALUES (0, 'x', 'held', x'', x'')")
            opened.set()
            release.wait(timeout=10)

    def audit_meanwhile():
        try:
            ledger.audit.record(system="upserts", kind="sent", request=b"r", response=b"ok", run_id="run")
        except BaseException as exc:  # noqa: BLE001 - what the run's thread would have raised
            errors.append(exc)
        finally:
            done.set()

    holder = threading.Thread(target=hold_open)
    holder.start()
    assert opened.wait(timeout=10)
    writer = threading.Thread(target=audit_meanwhile)
    writer.start()
    assert not done.wait(timeout=0.3)  # it waits for the open transaction (without the lock it fails at once)
    release.set()
    holder.join(timeout=10)
    writer.join(timeout=10)
    assert errors == [] and ledger.audit.count() == 2


def test_knowing_how_many_records_there_are_makes_the_last_window_short(ledger):
    """The read-back after the last write overlaps nothing: with the count known, what waits is read back
    once a quarter of a window is left, so the last read-back reads at most that much, whatever the count."""
    sizes = {}
    for count in (37, 40, 44):
        target = DeferringTarget()
        read = []
        settle = target.settle
        target.settle = lambda settle=settle, target=target, read=read: (read.append(len(target.waiting)), settle())[1]
        poster = DictPoster(target, ledger, f"run-{count}", batch_size=2, settle_every=16)
        poster.post(records(count, first=1000 * count), expected=count)
        assert set(states(ledger).values()) == {"posted"} and poster.report.created == count
        sizes[count] = read
    for count, read in sizes.items():
        assert sum(read) == count and read[-1] <= 16 // 4 + 2  # a quarter of a window, and the batch that cut it
        assert max(read) <= 16 + 2
    target = DeferringTarget()
    read = []
    settle = target.settle
    target.settle = lambda: (read.append(len(target.waiting)), settle())[1]
    DictPoster(target, ledger, "run-unknown", batch_size=2, settle_every=16).post(records(44, first=99000))
    assert read == [16, 16, 12]  # without the count, the last window is whatever is left
