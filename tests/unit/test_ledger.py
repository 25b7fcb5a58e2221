"""The sync ledger: claim decisions, concurrent claimers, dead owners, the audit trail."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import subprocess
import sys

import pytest

from state import ledger as ledger_module
from state.ledger import Candidate, SyncLedger, current_owner

FLOW, TARGET = "shipstation_tally.orders", "tally"


def cand(sid: str, h: str = "h1", desired: str = "upsert") -> Candidate:
    return Candidate(source_id=sid, external_key=f"ss-order-{sid}", payload_hash=h, desired=desired)


def test_new_record_is_claimed_for_create_then_skipped_when_unchanged(tmp_path):
    ledger = SyncLedger(tmp_path / "l.db")
    owner = current_owner("run-1")
    [claim] = ledger.claim(FLOW, TARGET, [cand("1")], owner)
    assert claim.action == "create"
    assert ledger.get(FLOW, "1", TARGET).state == "pending"
    ledger.record_posted(FLOW, TARGET, [("1", "101", "h1", False)])
    [again] = ledger.claim(FLOW, TARGET, [cand("1")], owner)
    assert (again.action, again.target_id, again.reason) == ("skip", "101", "unchanged")


def test_changed_record_becomes_alter_and_cancel_becomes_cancel(tmp_path):
    ledger = SyncLedger(tmp_path / "l.db")
    owner = current_owner("run-1")
    ledger.claim(FLOW, TARGET, [cand("1")], owner)
    ledger.record_posted(FLOW, TARGET, [("1", "101", "h1", False)])
    [alter] = ledger.claim(FLOW, TARGET, [cand("1", "h2")], owner)
    assert (alter.action, alter.target_id) == ("alter", "101")
    ledger.record_posted(FLOW, TARGET, [("1", "101", "h2", False)])
    [cancel] = ledger.claim(FLOW, TARGET, [cand("1", "h3", "cancel")], owner)
    assert cancel.action == "cancel"
    ledger.record_posted(FLOW, TARGET, [("1", "101", "h3", True)])
    [twice] = ledger.claim(FLOW, TARGET, [cand("1", "h3", "cancel")], owner)
    assert (twice.action, twice.reason) == ("skip", "already cancelled")


def test_cancelled_before_first_post_is_recorded_as_skipped(tmp_path):
    ledger = SyncLedger(tmp_path / "l.db")
    [claim] = ledger.claim(FLOW, TARGET, [cand("9", desired="cancel")], current_owner("r"))
    assert claim.action == "skip"
    entry = ledger.get(FLOW, "9", TARGET)
    assert entry.state == "skipped" and "cancelled" in entry.last_error


def test_live_claim_is_busy_for_another_run(tmp_path):
    ledger = SyncLedger(tmp_path / "l.db")
    ledger.claim(FLOW, TARGET, [cand("1")], current_owner("run-a"))
    [other] = ledger.claim(FLOW, TARGET, [cand("1")], current_owner("run-b"))
    assert other.action == "busy"


def test_claim_of_a_dead_process_is_handed_back_for_lookup(tmp_path):
    path = tmp_path / "l.db"
    code = (
        "import sys; from state.ledger import *;"
        f"l = SyncLedger({str(path)!r});"
        "l.claim('f', 't', [Candidate('1', 'k1', 'h1')], current_owner('dead-run'))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # exits: its pid is gone
    ledger = SyncLedger(path)
    [claim] = ledger.claim("f", "t", [Candidate("1", "k1", "h1")], current_owner("next-run"))
    assert (claim.action, claim.prior_action) == ("resolve", "create")


def test_expired_lease_is_handed_back_even_if_process_lives(tmp_path):
    ledger = SyncLedger(tmp_path / "l.db", lease_seconds=0.0)
    ledger.claim(FLOW, TARGET, [cand("1")], current_owner("run-a"))
    [claim] = ledger.claim(FLOW, TARGET, [cand("1")], current_owner("run-b"))
    assert claim.action == "resolve"


def test_release_returns_an_undelivered_create_to_failed(tmp_path):
    ledger = SyncLedger(tmp_path / "l.db")
    ledger.claim(FLOW, TARGET, [cand("1")], current_owner("r"))
    ledger.release(FLOW, TARGET, ["1"], "connection refused")
    entry = ledger.get(FLOW, "1", TARGET)
    assert (entry.state, entry.last_error) == ("failed", "connection refused")


def _claimer(path: str, run: str, n: int, queue) -> None:
    ledger = SyncLedger(path)
    won = []
    for i in range(n):
        [claim] = ledger.claim(FLOW, TARGET, [cand(str(i))], current_owner(run))
        if claim.action == "create":
            won.append(i)
    queue.put(won)


def test_two_processes_never_claim_the_same_record(tmp_path):
    path = str(tmp_path / "l.db")
    SyncLedger(path)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_claimer, args=(path, f"run-{k}", 300, queue)) for k in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    a, b = map(set, results)
    assert not a & b
    assert a | b == set(range(300))


def test_audit_trail_is_append_only_and_scrubs_secrets(tmp_path):
    ledger = SyncLedger(tmp_path / "l.db")
    ledger.audit.secrets = ("s3cret-token",)
    ledger.audit.record(system="tally", kind="import", request=b"<X>s3cret-token</X>", response=b"<R/>",
                        run_id="r1", source_ids=["1", "2"], outcome="ok")
    [rec] = ledger.audit.records("r1")
    assert b"s3cret-token" not in rec.request and b"[redacted]" in rec.request
    assert rec.source_ids == "1,2"
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        ledger._conn.execute("DELETE FROM audit")


def test_a_failed_order_later_cancelled_becomes_skipped_not_replayable(tmp_path):
    ledger = SyncLedger(tmp_path / "l.db")
    owner = current_owner("r")
    ledger.record_failed_unclaimed(FLOW, TARGET, cand("1"), "unknown SKU", '{"orderId": 1}')
    [claim] = ledger.claim(FLOW, TARGET, [cand("1", "cancelled", "cancel")], owner)
    assert claim.action == "skip"
    entry = ledger.get(FLOW, "1", TARGET)
    assert (entry.state, entry.source_payload) == ("skipped", None)
    assert ledger.entries(FLOW, "failed") == []


def test_a_failed_alter_whose_order_went_back_to_the_posted_content_is_posted_again(tmp_path):
    ledger = SyncLedger(tmp_path / "l.db")
    owner = current_owner("r")
    ledger.claim(FLOW, TARGET, [cand("1", "h1")], owner)
    ledger.record_posted(FLOW, TARGET, [("1", "101", "h1", False)])
    ledger.claim(FLOW, TARGET, [cand("1", "h2")], owner)
    ledger.record_failed(FLOW, TARGET, [("1", "Tally refused the alter", None)])
    [claim] = ledger.claim(FLOW, TARGET, [cand("1", "h1")], owner)
    assert (claim.action, claim.reason) == ("skip", "unchanged")
    assert ledger.get(FLOW, "1", TARGET).state == "posted"


def test_outcomes_fetches_many_records_in_chunks(tmp_path):
    ledger = SyncLedger(tmp_path / "l.db")
    owner = current_owner("r")
    ledger.claim(FLOW, TARGET, [cand(str(i)) for i in range(7)], owner)
    ledger.record_posted(FLOW, TARGET, [(str(i), str(100 + i), "h1", False) for i in range(5)])
    found = ledger.outcomes(FLOW, TARGET, [str(i) for i in range(9)], chunk=3)
    assert sorted(found) == [str(i) for i in range(7)]
    assert found["4"].target_id == "104" and found["6"].state == "pending" and found["6"].claimed_at


def test_waiting_records_keep_payload_and_are_created_when_claimed_again(tmp_path):
    ledger = SyncLedger(tmp_path / "l.sqlite3")
    cand = Candidate("s1", "ss-shipment-s1", "", group_key="o1")
    ledger.record_waiting("ship", "tally", cand, "waiting for order o1", '{"shipmentId": 1}')
    [entry] = ledger.entries("ship", "waiting")
    assert (entry.last_error, entry.source_payload, entry.group_key) == ("waiting for order o1", '{"shipmentId": 1}',
                                                                         "o1")
    [claim] = ledger.claim("ship", "tally", [Candidate("s1", "ss-shipment-s1", "h", group_key="o1")], "me")
    assert claim.action == "create"
    ledger.record_waiting("ship", "tally", Candidate("s3", "k3", ""), "wait", "{}")
    [skip] = ledger.claim("ship", "tally", [Candidate("s3", "k3", "", "cancel")], "me")
    assert skip.action == "skip" and ledger.get("ship", "s3", "tally").state == "skipped"  # voided while waiting


def test_group_keys_find_related_records(tmp_path):
    ledger = SyncLedger(tmp_path / "l.sqlite3")
    ledger.claim("ship", "tally", [Candidate("a", "ka", "h", group_key="o1"), Candidate("b", "kb", "h", group_key="o2"),
                                   Candidate("c", "kc", "h", group_key="o1")], "me")
    assert sorted(e.source_id for e in ledger.by_group("ship", "tally", ["o1"])) == ["a", "c"]
    assert ledger.by_group("ship", "tally", []) == []


def test_a_ledger_from_before_waiting_existed_is_migrated_in_place(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    old_schema = ledger_module.SCHEMA.replace(", 'waiting'", "").replace("    group_key TEXT,\n", "")
    conn.executescript(old_schema)
    conn.execute("INSERT INTO sync_entries (flow, source_id, target, external_key, state, target_id, posted_hash,"
                 " created_at, updated_at) VALUES ('f', '1', 't', 'k', 'posted', '99', 'h', 1, 1)")
    conn.commit()
    conn.close()
    ledger = SyncLedger(path)
    assert ledger.get("f", "1", "t").target_id == "99"
    ledger.record_waiting("f", "t", Candidate("2", "k2", "", group_key="g"), "wait", "{}")
    assert [e.source_id for e in ledger.by_group("f", "t", ["g"])] == ["2"]
    SyncLedger(path)  # a second open finds it migrated and changes nothing
    assert ledger.get("f", "1", "t").state == "posted"


def test_release_marks_the_failure_transient_and_record_failed_says_which(tmp_path):
    ledger = SyncLedger(tmp_path / "l.db")
    ledger.claim(FLOW, TARGET, [cand("1"), cand("2"), cand("3")], current_owner("r"))
    ledger.release(FLOW, TARGET, ["1"], "not posted: connection refused")
    ledger.record_failed(FLOW, TARGET, [("2", "Tally answered 503", None)], transient=True)
    ledger.record_failed(FLOW, TARGET, [("3", "unknown ledger", None)])
    kinds = {e.source_id: (e.retry_kind, e.transient) for e in ledger.entries(FLOW)}
    assert kinds == {"1": ("transient", True), "2": ("transient", True), "3": ("permanent", False)}
    assert [e.source_id for e in ledger.transient_failures(FLOW, max_attempts=8)] == ["1", "2"]
    assert ledger.transient_failures(FLOW, max_attempts=1) == []  # each was claimed once


def test_a_transient_failure_that_later_fails_on_its_data_is_no_longer_retried(tmp_path):
    ledger = SyncLedger(tmp_path / "l.db")
    ledger.claim(FLOW, TARGET, [cand("1")], current_owner("r"))
    ledger.release(FLOW, TARGET, ["1"], "not posted: connection refused")
    ledger.record_failed_unclaimed(FLOW, TARGET, cand("1"), "unknown SKU", "{}")
    assert ledger.get(FLOW, "1", TARGET).retry_kind is None and ledger.transient_failures(FLOW, 8) == []
    ledger.claim(FLOW, TARGET, [cand("1")], current_owner("r2"))
    ledger.record_posted(FLOW, TARGET, [("1", "9", "h", False)])
    assert ledger.transient_failures(FLOW, 8) == []


def test_a_ledger_from_before_retry_kinds_gains_the_column(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(ledger_module.SCHEMA.replace("    retry_kind TEXT,\n", ""))
    conn.execute("INSERT INTO sync_entries (flow, source_id, target, external_key, state, attempts, last_error,"
                 " created_at, updated_at) VALUES (?, '1', ?, 'k', 'failed', 1, 'boom', 0, 0)", (FLOW, TARGET))
    conn.commit()
    conn.close()
    ledger = SyncLedger(path)
    assert ledger.get(FLOW, "1", TARGET).retry_kind is None and ledger.transient_failures(FLOW, 8) == []
