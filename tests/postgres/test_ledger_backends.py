"""The sync ledger's claim, crash-safety and concurrency contract, on SQLite and on a real PostgreSQL.

The contract tests are those of `tests/unit/test_ledger.py`, run unchanged under the `backend` fixture
(which points every `SyncLedger(...)` at a fresh PostgreSQL schema through ML_CONNECTOR_DATABASE_URL,
in this process and in the processes the tests start). The SQLite-file-only tests there (migrations of
old files) are not part of the contract. Below them, what only PostgreSQL can get wrong.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from state.ledger import Candidate, SyncLedger, current_owner
from tests.postgres.services import fresh_schema, pg_url
from tests.unit import test_ledger as contract

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = [
    "test_new_record_is_claimed_for_create_then_skipped_when_unchanged",
    "test_changed_record_becomes_alter_and_cancel_becomes_cancel",
    "test_cancelled_before_first_post_is_recorded_as_skipped",
    "test_live_claim_is_busy_for_another_run",
    "test_claim_of_a_dead_process_is_handed_back_for_lookup",
    "test_expired_lease_is_handed_back_even_if_process_lives",
    "test_release_returns_an_undelivered_create_to_failed",
    "test_two_processes_never_claim_the_same_record",
    "test_a_failed_order_later_cancelled_becomes_skipped_not_replayable",
    "test_a_failed_alter_whose_order_went_back_to_the_posted_content_is_posted_again",
    "test_outcomes_fetches_many_records_in_chunks",
    "test_waiting_records_keep_payload_and_are_created_when_claimed_again",
    "test_group_keys_find_related_records",
    "test_release_marks_the_failure_transient_and_record_failed_says_which",
    "test_a_transient_failure_that_later_fails_on_its_data_is_no_longer_retried",
]


@pytest.mark.parametrize("name", CONTRACT)
def test_ledger_contract(name: str, backend: str, tmp_path: Path) -> None:
    getattr(contract, name)(tmp_path)


def test_the_backend_is_the_one_configured(backend: str, tmp_path: Path) -> None:
    ledger = SyncLedger(tmp_path / "ledger.sqlite3")
    assert (ledger.url is not None) == (backend == "postgresql")
    assert (tmp_path / "ledger.sqlite3").exists() == (backend == "sqlite")


def test_audit_trail_refuses_update_delete_and_truncate(backend: str, tmp_path: Path) -> None:
    ledger = SyncLedger(tmp_path / "l.db")
    ledger.audit.secrets = ("s3cret-token",)
    ledger.audit.record(system="tally", kind="import", request=b"<X>s3cret-token</X>", response=b"<R/>",
                        run_id="r1", source_ids=["1"], outcome="ok")
    statements = ["DELETE FROM audit", "UPDATE audit SET error='x'"] + (
        ["TRUNCATE audit"] if backend == "postgresql" else [])
    for statement in statements:
        with pytest.raises(Exception, match="append-only"):
            ledger._conn.execute(statement)
    [rec] = ledger.audit.records("r1")
    assert b"s3cret-token" not in rec.request and rec.response == b"<R/>"


HOLDER = """
import sys, time
from state.ledger import Candidate, SyncLedger, current_owner
ledger = SyncLedger(sys.argv[1])
with ledger._write() as conn:
    conn.execute("INSERT INTO sync_entries (flow, source_id, target, external_key, state, created_at, updated_at)"
                 " VALUES ('f', 'half', 't', 'k', 'posted', 0, 0)")
    print("inside", flush=True)
    time.sleep(600)
"""


def test_a_writer_killed_inside_its_transaction_leaves_nothing_and_blocks_nobody(backend: str, tmp_path: Path) -> None:
    path = str(tmp_path / "l.db")
    SyncLedger(path).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, path], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "inside"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    ledger = SyncLedger(path)
    [claim] = ledger.claim("f", "t", [Candidate("1", "k1", "h1")], current_owner("after-crash"))
    assert claim.action == "create"  # the write lock came free with the dead process
    assert ledger.get("f", "half", "t") is None  # its half-done transaction is gone


def test_claims_wait_for_a_live_writer_instead_of_interleaving(backend: str, tmp_path: Path) -> None:
    path = str(tmp_path / "l.db")
    SyncLedger(path).close()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, path], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "inside"
        probe = subprocess.Popen(
            [sys.executable, "-c", "import sys; from state.ledger import *; l = SyncLedger(sys.argv[1]);"
             "print(l.claim('f', 't', [Candidate('half', 'k', 'h')], current_owner('probe'))[0].action)", path],
            cwd=ROOT, stdout=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            probe.wait(timeout=2)  # the claim is queued behind the open transaction, not deciding on stale rows
        os.kill(holder.pid, signal.SIGKILL)
        out, _ = probe.communicate(timeout=60)
        assert out.strip() == "create"  # the holder's insert never committed
    finally:
        holder.kill()
        holder.wait(timeout=30)


def test_many_merchants_share_a_server_but_not_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = pg_url()
    monkeypatch.setenv("ML_CONNECTOR_DATABASE_URL", url)
    with fresh_schema(url) as a, fresh_schema(url) as b:
        monkeypatch.setenv("ML_CONNECTOR_DATABASE_SCHEMA", a)
        first = SyncLedger(tmp_path / "a.db")
        first.claim("f", "t", [Candidate("1", "k", "h")], current_owner("a"))
        monkeypatch.setenv("ML_CONNECTOR_DATABASE_SCHEMA", b)
        second = SyncLedger(tmp_path / "b.db")
        [claim] = second.claim("f", "t", [Candidate("1", "k", "h")], current_owner("b"))
        assert claim.action == "create" and first.get("f", "1", "t").owner.endswith(":a")
        first.close()
        second.close()
