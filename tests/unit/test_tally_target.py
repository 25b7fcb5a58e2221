"""TallyPrime as a posting target: the CREATED count is checked before any re-send, and crash
recovery finds a voucher whose order was re-dated after the lost write."""

from __future__ import annotations

import socket
from datetime import date
from decimal import Decimal

import pytest

from connectors.tally.errors import TallyOutcomeUnknown, TallyRejected, TallyUnavailable
from connectors.tally.models import CompanyRecord, ImportResult, InventoryEntry, LedgerEntry, Voucher, VoucherRecord
from pipelines.posting import Poster, PostItem
from pipelines.sides.tally.markers import MARKER_RE, marker
from pipelines.sides.tally.target import TallyTarget
from state.ledger import Candidate, SyncLedger

FLOW, TYPE = "test.vouchers", "Sales Order"


class FakeTally:
    """Just enough TallyPrime: one-by-one import with no rollback, exports by date and AlterID."""

    def __init__(self) -> None:
        self.vouchers: list[VoucherRecord] = []
        self.imports = 0
        self.hidden: set[str] = set()  # keys a floor-bounded read-back does not see (a lagging AlterID)
        self.lose_answer = False
        self.exports: list[tuple] = []  # (from, to, alter_id_after) of every voucher export
        self.down_on_export = False

    def company(self) -> CompanyRecord:
        return CompanyRecord(name="Demo", alt_vch_id=len(self.vouchers))

    def import_vouchers(self, vouchers: list[Voucher]) -> ImportResult:
        self.imports += 1
        counts = {"created": 0, "altered": 0, "errors": 0}
        for v in vouchers:
            if v.action == "Create" and "refuse" in (v.narration or ""):
                counts["errors"] += 1
                continue
            if v.action == "Create":
                self.vouchers.append(VoucherRecord(master_id=len(self.vouchers) + 1, alter_id=len(self.vouchers) + 1,
                                                   voucher_type=v.voucher_type, date=v.date, narration=v.narration))
                counts["created"] += 1
            else:
                counts["altered"] += 1
        result = ImportResult(**counts)
        if self.lose_answer:
            raise TallyOutcomeUnknown("read timed out after the import was sent")
        if counts["errors"]:
            raise TallyRejected("partly refused", [], result)
        return result

    def list_voucher_ids(self, voucher_type, from_date=None, to_date=None, *, alter_id_after=None):
        if self.down_on_export:
            raise TallyUnavailable("connection refused")
        self.exports.append((from_date, to_date, alter_id_after))
        out = []
        for r in self.vouchers:
            key = MARKER_RE.search(r.narration).group(1)
            if from_date and not from_date <= r.date <= to_date:
                continue
            if alter_id_after is not None and (r.alter_id <= alter_id_after or key in self.hidden):
                continue
            out.append(r)
        return out


class RecordPoster(Poster):
    flow = FLOW

    def prepare(self, record: tuple[str, date, str]) -> PostItem:
        sid, day, note = record
        voucher = Voucher(voucher_type=TYPE, date=day, voucher_number=sid, party_ledger="Asha",
                          narration=f"{note} {marker('k-' + sid)}",
                          ledger_entries=[LedgerEntry(ledger_name="Asha", amount=Decimal("-10"), is_party=True)],
                          inventory_entries=[InventoryEntry(stock_item="Tea", quantity=Decimal(1), unit="Nos",
                                                            rate=Decimal(10), amount=Decimal(10))])
        cand = Candidate(sid, f"k-{sid}", f"{day}{note}", detail={"date": day})
        return PostItem(f"record {sid}", sid, day, {"id": sid}, voucher, cand)


def post(ledger, tally, records, run="run", **sizes):
    poster = RecordPoster(TallyTarget(tally, TYPE), ledger, run, **({"batch_size": 10} | sizes))
    poster.post(records)
    return poster


def live(tally: FakeTally) -> list[str]:
    return sorted(MARKER_RE.search(r.narration).group(1) for r in tally.vouchers)


@pytest.fixture
def ledger(tmp_path):
    return SyncLedger(tmp_path / "ledger.sqlite3")


def test_a_partly_refused_batch_re_sends_only_what_tally_says_is_absent(ledger):
    tally = FakeTally()
    poster = post(ledger, tally, [("1", date(2026, 3, 2), ""), ("2", date(2026, 3, 2), "refuse"),
                                  ("3", date(2026, 3, 3), "")])
    assert live(tally) == ["k-1", "k-3"]
    assert (poster.report.created, poster.report.failed, tally.imports) == (2, 1, 2)  # the batch, then "2" alone
    assert ledger.get(FLOW, "2", "tally").state == "failed"


def test_when_tally_created_more_than_the_read_back_found_nothing_is_re_sent(ledger):
    tally = FakeTally()
    tally.hidden = {"k-2"}  # created, but the read-back by AlterID does not see it
    poster = post(ledger, tally, [("1", date(2026, 3, 2), ""), ("2", date(2026, 3, 2), "")])
    assert tally.imports == 1 and live(tally) == ["k-1", "k-2"]  # found again without the floor: no re-send
    assert poster.report.created == 2


def test_an_unaccounted_create_stays_unresolved_and_is_looked_up_next_run(ledger):
    tally = FakeTally()
    tally.hidden = {"k-2"}
    target = TallyTarget(tally, TYPE)
    target._read_back = lambda items, since_floor=True: {  # this export misses "k-2" both times
        i.key: str(r.master_id) for i in items for r in tally.vouchers if marker(i.key) in r.narration
        and i.key not in tally.hidden}
    poster = RecordPoster(target, ledger, "run", batch_size=10)
    poster.post([("1", date(2026, 3, 2), ""), ("2", date(2026, 3, 2), "")])
    assert tally.imports == 1 and poster.report.unknown == 1
    entry = ledger.get(FLOW, "2", "tally")
    assert entry.state == "pending" and entry.owner is None and "created but" in entry.last_error
    tally.hidden.clear()
    again = post(ledger, tally, [("2", date(2026, 3, 2), "")])
    assert again.report.resolved == 1 and again.report.created == 0
    assert live(tally) == ["k-1", "k-2"] and ledger.get(FLOW, "2", "tally").state == "posted"


def test_recovery_finds_the_voucher_of_an_order_re_dated_after_the_lost_write(ledger):
    tally = FakeTally()
    tally.lose_answer = True
    with pytest.raises(TallyOutcomeUnknown):
        post(ledger, tally, [("7", date(2026, 3, 31), "")], run="dies")
    tally.lose_answer = False
    ledger._conn.execute("UPDATE sync_entries SET owner=?", (f"{socket.gethostname()}:999999999:dies",))
    moved = post(ledger, tally, [("7", date(2026, 4, 2), "edited")])  # the order moved to April since
    assert moved.report.resolved == 1 and moved.report.created == 0 and moved.report.altered == 1
    assert live(tally) == ["k-7"]
    assert ledger.get(FLOW, "7", "tally").target_id == "1"


def orders(n: int, first: int = 1) -> list[tuple[str, date, str]]:
    return [(str(i), date(2026, 3, 1 + i % 28), "") for i in range(first, first + n)]


def test_clean_batches_are_read_back_once_per_window_not_once_per_batch(ledger):
    tally = FakeTally()
    poster = post(ledger, tally, orders(300), batch_size=10, batch_ceiling=10, settle_every=1000)
    assert tally.imports == 30 and len(tally.exports) == 1  # one read-back for the whole run
    (start, end, floor), = tally.exports
    assert (start, end, floor) == (date(2026, 3, 1), date(2026, 3, 28), 0)  # bounded by dates and AlterID
    assert poster.report.created == 300 and len(live(tally)) == 300
    assert {e.state for e in ledger.entries(FLOW)} == {"posted"}
    assert len({e.target_id for e in ledger.entries(FLOW)}) == 300


def test_a_large_run_settles_every_window(ledger):
    tally = FakeTally()
    post(ledger, tally, orders(250), batch_size=10, batch_ceiling=10, settle_every=100)
    assert len(tally.exports) == 3 and tally.imports == 25  # after 100, after 200, then the last 50


def test_a_refused_batch_settles_what_was_waiting_in_the_same_read_back(ledger):
    tally = FakeTally()
    records = [*orders(20), ("99", date(2026, 3, 5), "refuse"), *orders(9, first=21)]
    poster = post(ledger, tally, records, batch_size=10, batch_ceiling=10)
    assert poster.report.created == 29 and poster.report.failed == 1
    assert ledger.get(FLOW, "99", "tally").state == "failed"
    assert len(tally.exports) == 1  # the refused batch with the two waiting ones; the alone re-send created nothing
    assert live(tally) == sorted(f"k-{i}" for i in range(1, 30))


def test_a_run_that_dies_before_its_read_back_is_resolved_by_lookup_not_re_sent(ledger):
    tally = FakeTally()
    tally.down_on_export = True  # the imports land, then Tally stops answering before the read-back
    with pytest.raises(TallyOutcomeUnknown):
        post(ledger, tally, orders(30))
    assert tally.imports == 3 and len(live(tally)) == 30
    assert {(e.state, e.owner) for e in ledger.entries(FLOW)} == {("pending", None)}  # none released
    tally.down_on_export = False
    again = post(ledger, tally, orders(30))
    assert again.report.resolved == 30 and again.report.created == 0
    assert len(live(tally)) == 30 and {e.state for e in ledger.entries(FLOW)} == {"posted"}


def test_batches_grow_while_clean_and_shrink_after_a_refusal(ledger):
    tally = FakeTally()
    poster = RecordPoster(TallyTarget(tally, TYPE), ledger, "run", batch_size=10, batch_ceiling=80)
    sizes = []
    original = poster.target.create

    def spy(items):
        sizes.append(len(items))
        return original(items)

    poster.target.create = spy
    poster.post([*orders(150), ("refuse-me", date(2026, 3, 2), "refuse"), *orders(120, first=151)])
    assert sizes[:4] == [10, 20, 40, 80] and max(sizes) == 80
    refused_at = next(i for i, n in enumerate(sizes) if sum(sizes[:i + 1]) > 150)
    assert sizes[refused_at + 1] == sizes[refused_at] // 2  # halves after the refusal
