"""A state directory whose disk fills up: a tmpfs of a fixed size mounted on it (as root), else a per-file cap.

The fault is "the disk the state directory lives on is full". As root (where the harness runs its full-size
table) the directory becomes a tmpfs holding exactly what it held, with `room` bytes free: the first write
that needs more space than that fails with ENOSPC, whichever file it is for (the ledger, its WAL, staging,
Dagster's run storage), as on a real full disk. The room is measured from the fault-free baseline (the
directory's growth half-way through the run's writing, `disk_room`), so the disk fills mid-run. After the
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
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOMY = "16g"  # a tmpfs's size is a ceiling, not an allocation: after the fault, "free space" again


def disk_room(samples: Sequence[tuple[float, Mapping[str, int]]]) -> int:
    """Bytes the state directory grew by (its files' total size, at its highest so far) half-way through a
    fault-free run's writing: from its first write to its end, by the run's CPU seconds. 0: it wrote nothing.

    Half-way through the writing, not through the CPU seconds: a run spends its first seconds importing
    and reading, and a disk full before its first write would stop it before it did anything."""
    if len(samples) < 2:
        return 0
    start = sum(samples[0][1].values())
    totals = [(moment, sum(sizes.values()) - start) for moment, sizes in samples[1:]]
    writing = [moment for moment, grown in totals if grown > 0]
    if not writing:
        return 0
    middle = (writing[0] + totals[-1][0]) / 2
    return max((grown for moment, grown in totals if moment <= middle), default=0)


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
    """Mount a tmpfs on `home` holding what it holds now and `room` bytes more; False if it cannot be done
    (then `home` is as it was)."""
    if not can_mount():
        return False
    keep = Path(tempfile.mkdtemp(prefix="ml-faults-keep-", dir=home.parent))
    for entry in list(home.iterdir()):
        shutil.move(str(entry), keep / entry.name)
    if not _run("mount", "-t", "tmpfs", "-o", f"size={ROOMY},mode=0700", "tmpfs", str(home)):
        _move_all(keep, home)
        return False
    _move_all(keep, home)  # across file systems: copied, then removed
    stat = os.statvfs(home)
    used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
    if not _run("mount", "-o", f"remount,size={used + room}", str(home)):
        unmount(home)
        raise RuntimeError(f"could not shrink the tmpfs on {home} to {used + room} bytes")
    return True


def free_up(home: Path) -> None:
    """The merchant frees space: the tmpfs on `home` may grow again (its files stay)."""
    if not _run("mount", "-o", f"remount,size={ROOMY}", str(home)):
        raise RuntimeError(f"could not grow the tmpfs on {home}")


def unmount(home: Path) -> None:
    """Take the tmpfs off `home` (its files go with it); lazily, should a process still hold one open."""
    _run("umount", "-l", str(home))


def mounted(home: Path) -> bool:
    return os.path.ismount(home)


def _move_all(source: Path, target: Path) -> None:
    for entry in list(source.iterdir()):
        shutil.move(str(entry), target / entry.name)
    source.rmdir()


def _run(*argv: str) -> bool:
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0
