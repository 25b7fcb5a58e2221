"""The generic exactly-once poster against an upsert target that is not TallyPrime.

The target here behaves like ShipStation `createorder` by `orderKey` (or Zoho Books by reference
number): create and alter are one upsert keyed by our external key, and `find` is a GET by that key.
That it fits the `Target` interface without any change to the poster is the point of these tests.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import pytest

from pipelines.posting import Created, Outcome, Poster, PostItem
from state.ledger import Candidate, SyncLedger

FLOW = "test.upserts"


class Lost(Exception):
    """The answer was lost after the target applied the write."""


class Down(Exception):
    """The target could not be reached: nothing was applied."""


@dataclass
class UpsertTarget:
    name: str = "upserts"
    not_delivered: tuple = (Down,)
    outcome_unknown: tuple = (Lost,)
    records: dict[str, dict] = field(default_factory=dict)  # key -> {"id", "body", "cancelled"}
    writes: int = 0
    lose_next_answer: bool = False
    down: bool = False

    def check(self, item: PostItem) -> str | None:
        return "amount must not be negative" if item.payload["amount"] < 0 else None

    def find(self, pending):
        return {i.key: self.records[i.key]["id"] for i, _ in pending if i.key in self.records}

    def _upsert(self, item: PostItem) -> str:
        if self.down:
            raise Down("connection refused")
        self.writes += 1
        record = self.records.setdefault(item.key, {"id": f"T{len(self.records) + 1}", "cancelled": False})
        record["body"] = item.payload
        if self.lose_next_answer:
            self.lose_next_answer = False
            raise Lost("read timed out after the request was sent")
        return record["id"]

    def create(self, items):
        out = Created()
        for item in items:
            if item.payload.get("refuse"):
                out.refused[item.key] = "refused: bad customer"
            else:
                out.landed[item.key] = self._upsert(item)
        return out

    def alter(self, item, target_id):
        self._upsert(item)
        return Outcome()

    def cancel(self, item, target_id):
        self.records[item.key]["cancelled"] = True
        return Outcome()

    def settle(self):
        return Created()  # an upsert answers with the id at once: nothing is ever deferred


class DictPoster(Poster):
    flow = FLOW

    def prepare(self, record: dict) -> PostItem:
        self.report.read += 1
        desired = "cancel" if record.get("cancelled") else "upsert"
        cand = Candidate(record["id"], f"key-{record['id']}", repr(sorted(record.items())), desired,
                         detail={"number": record["id"]})
        return PostItem(f"record {record['id']}", record["id"], None, record,
                        None if desired == "cancel" else record, cand)


def post(ledger: SyncLedger, target: UpsertTarget, records: list[dict], run: str = "run") -> DictPoster:
    poster = DictPoster(target, ledger, run, batch_size=2)
    poster.post(records)
    return poster


@pytest.fixture
def ledger(tmp_path):
    return SyncLedger(tmp_path / "ledger.sqlite3")


def test_create_skip_alter_cancel_each_once(ledger):
    target = UpsertTarget()
    first = post(ledger, target, [{"id": "1", "amount": 5}, {"id": "2", "amount": 7}, {"id": "3", "amount": 1}])
    assert (first.report.created, target.writes) == (3, 3)
    again = post(ledger, target, [{"id": "1", "amount": 5}, {"id": "2", "amount": 8}, {"id": "3", "cancelled": True,
                                                                                       "amount": 1}])
    assert (again.report.skipped, again.report.altered, again.report.cancelled) == (1, 1, 1)
    assert target.writes == 4 and target.records["key-2"]["body"]["amount"] == 8
    assert target.records["key-3"]["cancelled"] and len(target.records) == 3
    assert {e.source_id: e.state for e in ledger.entries(FLOW)} == {"1": "posted", "2": "posted", "3": "posted"}


def test_a_lost_answer_is_looked_up_not_sent_twice(ledger):
    target = UpsertTarget(lose_next_answer=True)
    with pytest.raises(Lost):
        post(ledger, target, [{"id": "1", "amount": 5}], run="dies")
    assert ledger.get(FLOW, "1", "upserts").state == "pending"
    # the run that lost the answer is gone: its claim is handed back for lookup
    dead = f"{socket.gethostname()}:999999999:dies"
    ledger._conn.execute("UPDATE sync_entries SET owner=?", (dead,))
    retry = post(ledger, target, [{"id": "1", "amount": 6}])
    assert retry.report.resolved == 1 and retry.report.created == 0 and retry.report.altered == 1
    assert len(target.records) == 1 and target.records["key-1"]["body"]["amount"] == 6
    assert ledger.get(FLOW, "1", "upserts").target_id == "T1"


def test_an_unreachable_target_releases_the_claims_as_transient(ledger):
    target = UpsertTarget(down=True)
    with pytest.raises(Down):
        post(ledger, target, [{"id": "1", "amount": 5}])
    entry = ledger.get(FLOW, "1", "upserts")
    assert entry.state == "failed" and "not posted" in entry.last_error
    target.down = False
    post(ledger, target, [{"id": "1", "amount": 5}])
    assert ledger.get(FLOW, "1", "upserts").state == "posted" and target.writes == 1


def test_a_refused_record_and_a_record_the_target_can_never_take_fail_alone(ledger):
    target = UpsertTarget()
    poster = post(ledger, target, [{"id": "1", "amount": -1}, {"id": "2", "amount": 3, "refuse": True},
                                   {"id": "3", "amount": 4}])
    assert (poster.report.created, poster.report.failed, poster.report.unbalanced) == (1, 2, 1)
    errors = {e.source_id: e.last_error for e in ledger.entries(FLOW, "failed")}
    assert "amount must not be negative" in errors["1"] and "bad customer" in errors["2"]
    assert ledger.get(FLOW, "1", "upserts").source_payload  # kept for replay
