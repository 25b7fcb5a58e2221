"""Creates settled later hold only what settling needs, and a window is one read-back of at most 5,000.

A deferred create can only land or stay unknown once its import reply said it landed whole, so its
payload and raw record (kept for the replay of a refusal) are dropped until the read-back; `source`
stays only for a poster whose `on_posted` reads it.
"""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.posting import PostItem
from pipelines.sides.tally.target import TallyTarget
from state.ledger import SyncLedger
from tests.unit.test_tally_target import TYPE, FakeTally, RecordPoster, live, orders


class SourcePoster(RecordPoster):
    """Keeps each record's source and remembers what `on_posted` was handed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.posted: list[PostItem] = []
        self.waiting: list[list[PostItem]] = []

    def prepare(self, record):
        item = super().prepare(record)
        item.source = ["line of " + item.number]
        return item

    def settle(self) -> None:
        self.waiting.append(list(self._deferred.values()))
        super().settle()

    def on_posted(self, items, action):
        self.posted += items


class SlimPoster(SourcePoster):
    retain_source = False


@pytest.fixture
def ledger(tmp_path):
    return SyncLedger(tmp_path / "ledger.sqlite3")


@pytest.mark.parametrize("poster_class", [SourcePoster, SlimPoster])
def test_a_deferred_create_keeps_its_key_date_and_candidate_not_its_payload(ledger, poster_class):
    tally = FakeTally()
    poster = poster_class(TallyTarget(tally, TYPE), ledger, "run", batch_size=10)
    poster.post(orders(30))
    [waiting] = [w for w in poster.waiting if w]
    assert len(waiting) == 30
    assert all(i.payload is None and i.raw == {} for i in waiting)
    assert sorted((i.number, i.date) for i in waiting) == sorted((sid, d) for sid, d, _ in orders(30))
    assert all(i.candidate.payload_hash for i in waiting)
    kept = {i.number: i.source for i in poster.posted}
    assert kept == {sid: ["line of " + sid] if poster_class.retain_source else None for sid, _, _ in orders(30)}
    assert poster.report.created == 30 and len({e.target_id for e in ledger.entries("test.vouchers")}) == 30


def test_the_target_reads_a_window_back_by_the_vouchers_own_dates(ledger):
    tally = FakeTally()
    target = TallyTarget(tally, TYPE)
    RecordPoster(target, ledger, "run", batch_size=10).post([("1", date(2026, 3, 9), ""), ("2", date(2026, 3, 4), "")])
    assert [e[:2] for e in tally.exports] == [(date(2026, 3, 4), date(2026, 3, 9))]
    assert target._deferred == [] and live(tally) == ["k-1", "k-2"]


def test_by_default_a_window_is_5000_creates(ledger):
    tally = FakeTally()
    poster = RecordPoster(TallyTarget(tally, TYPE), ledger, "run", batch_size=50)
    assert poster.settle_every == 5000
    poster.post(orders(5200))
    assert len(tally.exports) == 2 and poster.report.created == 5200  # after 5,000, then the last 200
