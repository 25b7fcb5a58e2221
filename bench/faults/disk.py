"""A state directory whose disk fills up: a tmpfs of a fixed size mounted on it (as root), else a per-file cap.

The fault is "the disk the product's state lives on is full". As root (where the harness runs its full-size
table) the directory becomes a tmpfs holding exactly what it held, with `room` bytes free: the first write
that needs more space than that fails with ENOSPC, whichever of the product's files it is for (the ledger,
its WAL, staging, the token cache), as on a real full disk. Dagster's run storage stays where it was (a
link to it is left in the directory): deployed, it is PostgreSQL (deploy/dagster.yaml). In a one-machine
install it shares the state directory's disk, and there it is the write refused first (tried: it writes
its event log all through a run; the step failed as Dagster stored its output, after the product's own
writes had gone through, and the re-run completed): such a row tests Dagster, not the product. The room
is measured from the fault-free baseline (`disk_room`): the disk fills half-way through the run's writing. After the
faulted run the tmpfs grows (the merchant freed space) and recovery runs on the same files.

Without root (or where mounting is refused) the harness falls back to RLIMIT_FSIZE on the sync: no file may
pass a size (`scenarios.disk_cap`). That is a coarser model (a cap per file, not a total), kept so the
harness runs anywhere.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOMY = "16g"  # a tmpfs's size is a ceiling, not an allocation: after the fault, "free space" again


DAGSTER = "dagster"  # the harness's DAGSTER_HOME inside the state directory (bench/faults/world.py)


def ours(name: str) -> bool:
    """A file of the product's own state (the ledger, staging, tokens), not Dagster's run storage."""
    return not name.startswith(f"{DAGSTER}/")


def disk_room(samples: Sequence[tuple[float, Mapping[str, int]]], keep: Callable[[str], bool] = ours) -> int:
    """Bytes free on the state directory's disk for its first refused write to fall half-way through a
    fault-free run's writing (from its first write to its end, by the run's CPU seconds). 0: it wrote nothing.

    `samples` are the run's (CPU seconds, {file: bytes on disk}), the first before it started; only the
    files `keep` names are on that disk (not Dagster's). Their growth (their total over the start's, at its
    highest so far) passes a room R at one sample: R is half-way through the step nearest the middle, and
    at most 3/4 of the run's whole growth (a faulted run's writes differ a little from its baseline's: one
    whose room came near its end grew less than that once, and met no full disk). Half-way through the
    writing, not through the CPU seconds: a run spends its first seconds importing and reading, and a disk
    full before its first write would stop it before it did anything."""
    if len(samples) < 2:
        return 0
    totals = [(moment, sum(size for name, size in sizes.items() if keep(name))) for moment, sizes in samples]
    start, peak = totals[0][1], 0
    steps: list[tuple[float, int, int]] = []  # (moment, growth before, growth after)
    for moment, total in totals[1:]:
        if total - start > peak:
            steps.append((moment, peak, total - start))
            peak = total - start
    if not steps:
        return 0
    middle = (steps[0][0] + totals[-1][0]) / 2
    _, low, high = min(steps, key=lambda step: abs(step[0] - middle))
    return min((low + high) // 2, peak * 3 // 4)


@functools.cache
def can_mount() -> bool:
    """Whether this process may mount a tmpfs (root with CAP_SYS_ADMIN): tried once, on a scratch directory."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    scratch = tempfile.mkdtemp(prefix="ml-faults-probe-")
    try:
        if _run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", scratch):
            return _run("umount", scratch)
        return False
    finally:
        os.rmdir(scratch)


def fill_up(home: Path, room: int) -> bool:
    """Mount a tmpfs on `home` holding what it holds now and `room` bytes more, Dagster's storage linked from
    where it was moved; False if it cannot be done (then `home` is as it was)."""
    if not can_mount():
        return False
    keep = Path(tempfile.mkdtemp(prefix="ml-faults-keep-", dir=home.parent))
    for entry in list(home.iterdir()):
        shutil.move(str(entry), (aside(home) if entry.name == DAGSTER else keep / entry.name))
    aside(home).mkdir(exist_ok=True)  # a run that is the world's first creates Dagster's storage there
    if not _run("mount", "-t", "tmpfs", "-o", f"size={ROOMY},mode=0700", "tmpfs", str(home)):
        _move_all(keep, home)
        shutil.move(str(aside(home)), home / DAGSTER)
        return False
    _move_all(keep, home)  # across file systems: copied, then removed
    (home / DAGSTER).symlink_to(aside(home), target_is_directory=True)
    stat = os.statvfs(home)
    used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
    if not _run("mount", "-o", f"remount,size={used + room}", str(home)):
        unmount(home)
        raise RuntimeError(f"could not shrink the tmpfs on {home} to {used + room} bytes")
    return True


def aside(home: Path) -> Path:
    """Where Dagster's storage goes while `home` is a tmpfs (beside it, on the disk it was on)."""
    return home.with_name(f"{home.name}-{DAGSTER}")


def free_up(home: Path) -> None:
    """The merchant frees space: the tmpfs on `home` may grow again (its files stay)."""
    if not _run("mount", "-o", f"remount,size={ROOMY}", str(home)):
        raise RuntimeError(f"could not grow the tmpfs on {home}")


def unmount(home: Path) -> None:
    """Take the tmpfs off `home` (its files go with it; lazily, should a process still hold one open), and
    Dagster's storage put aside beside it."""
    _run("umount", "-l", str(home))
    shutil.rmtree(aside(home), ignore_errors=True)


def mounted(home: Path) -> bool:
    return os.path.ismount(home)


def _move_all(source: Path, target: Path) -> None:
    for entry in list(source.iterdir()):
        shutil.move(str(entry), target / entry.name)
    source.rmdir()


def _run(*argv: str) -> bool:
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0
