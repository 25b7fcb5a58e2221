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
