"""Suite-wide pytest settings."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

SHM = Path("/dev/shm")
SHM_FREE_BYTES = 4 << 30  # the whole suite writes well under 1 GB at a time; leave the machine its memory


def pytest_configure(config) -> None:
    """Temporary files on tmpfs (/dev/shm) where the machine has one with room, for this process and every
    process the tests start (TMPDIR is inherited: xdist workers, syncs, Dagster, the simulators).

    The tests' SQLite ledgers, Dagster event logs and DuckDB files commit and close thousands of times, and
    each commit waits for the disk: one reconciliation test took 96 s on disk and 41 s on tmpfs for the same
    22 CPU seconds. No test needs the data to survive the machine (a killed process's writes are in the page
    cache either way), so nothing the suite proves depends on where its files live. `--basetemp` or
    ML_CONNECTOR_TEST_TMP=disk keeps them on disk."""
    if config.option.basetemp or os.environ.get("ML_CONNECTOR_TEST_TMP") == "disk" or "TMPDIR" in os.environ:
        return
    if not (SHM.is_dir() and os.access(SHM, os.W_OK)) or shutil.disk_usage(SHM).free < SHM_FREE_BYTES:
        return
    root = SHM / f"ml-connector-tests-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    os.environ["TMPDIR"] = str(root)
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again


# The longest files, longest first (measured: `--durations`), are handed out first: xdist gives a worker a whole
# file at a time, in collection order, so a long file collected last leaves one worker running alone at the end.
# A file missing here (renamed, or new and slow) only loses its place in the queue.
LONGEST_FIRST = (
    "tests/pipelines/test_reconciliation_flow.py",
    "tests/rehearsal/test_distributed.py",
    "tests/browser/test_console.py",
    "tests/pipelines/test_recon_snapshots.py",
    "tests/faults/test_harness_gauntlet.py",
    "tests/faults/test_harness.py",
    "tests/pipelines/test_cli.py",
    "tests/pipelines/test_shipstation_tally_flow.py",
    "tests/pipelines/test_exactly_once.py",
    "tests/rehearsal/test_merchants.py",
)


def pytest_collection_modifyitems(session, config, items) -> None:
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable: the rest keep order


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto`: two workers per core, and at least 4. Much of the suite waits on loopback servers, simulated
    rate limits and subprocesses rather than computing, so on a 2-core machine extra workers fill the
    waits: 1,699 tests took 509 s with 3 workers against 608 s with 2 (while `make demo` also ran), and
    1,773 took 647 s with 3 once the fault harness covered every pair."""
    return max(4, 2 * (os.cpu_count() or 1))
