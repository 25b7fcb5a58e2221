"""The staging writer lock: one holder across processes, freed when its holder dies; a no-op on SQLite installs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from state.backends.locks import staging_writer_lock

ROOT = Path(__file__).resolve().parents[2]
HOLD = """
import sys, time
from state.backends.locks import staging_writer_lock
with staging_writer_lock(sys.argv[1]):
    print("holding", flush=True)
    time.sleep(600)
"""
TAKE = """
import sys
from state.backends.locks import staging_writer_lock
with staging_writer_lock(sys.argv[1]):
    print("took it", flush=True)
"""


def test_a_second_writer_waits_until_the_first_dies(backend: str):
    if backend == "sqlite":
        with staging_writer_lock("staging.duckdb"), staging_writer_lock("staging.duckdb"):
            return  # no server: DuckDB's own file lock is the guard, this one never blocks
    holder = subprocess.Popen([sys.executable, "-c", HOLD, "staging.duckdb"], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        taker = subprocess.Popen([sys.executable, "-c", TAKE, "staging.duckdb"], cwd=ROOT, stdout=subprocess.PIPE,
                                 text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            taker.wait(timeout=2)
        other = subprocess.run([sys.executable, "-c", TAKE, "other.duckdb"], cwd=ROOT, capture_output=True,
                               text=True, timeout=60)
        assert other.stdout.strip() == "took it"  # another file (another merchant) is not held up
        os.kill(holder.pid, signal.SIGKILL)  # the machine holding it is gone
        out, _ = taker.communicate(timeout=60)
        assert out.strip() == "took it"
    finally:
        holder.kill()
        holder.wait(timeout=30)


STAGE = """
import sys
from datetime import datetime, timezone
from state.staging import StagingStore
store = StagingStore(sys.argv[1])
store.stage_orders("run", 0, datetime.now(timezone.utc), [{"orderId": 7, "orderNumber": "A-7"}], [None])
print("staged", flush=True)
"""


def test_the_staging_store_writes_only_under_the_writer_lock(backend: str, tmp_path: Path):
    """A worker on another machine holds the merchant's staging lock (it has the file open over shared storage,
    where DuckDB's own file lock is not to be trusted): our writes wait for it, then land."""
    path = tmp_path / "staging.duckdb"
    if backend == "sqlite":
        out = subprocess.run([sys.executable, "-c", STAGE, str(path)], cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
        assert out.stdout.strip() == "staged", out.stderr
        return
    holder = subprocess.Popen([sys.executable, "-c", HOLD, path.name], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        writer = subprocess.Popen([sys.executable, "-c", STAGE, str(path)], cwd=ROOT, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            writer.wait(timeout=3)
        assert not path.exists()  # it has not even created the file: it waits for the lock first
        os.kill(holder.pid, signal.SIGKILL)
        out, err = writer.communicate(timeout=120)
        assert out.strip() == "staged", err
    finally:
        holder.kill()
        holder.wait(timeout=30)
    from state.staging import StagingStore

    store = StagingStore(path)
    assert [o["orderNumber"] for chunk in store.iter_staged_orders("run") for o in chunk] == ["A-7"]


def test_a_connection_opened_inside_another_does_not_wait_for_itself(backend: str, tmp_path: Path):
    from state.staging import StagingStore

    store = StagingStore(tmp_path / "staging.duckdb")
    with store.connect() as outer, store.connect() as inner:  # re-entrant within a thread
        inner.execute("CREATE TABLE t (x INTEGER)")
        outer.execute("INSERT INTO t VALUES (1)")
    with store.connect() as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
