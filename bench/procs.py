"""What the processes of one process group use, read from /proc (Linux): the benches start each system
under test in its own group, so a group is "that sync" or "that worker" with every child it started."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def group_members(pgid: int) -> Iterator[tuple[Path, list[str]]]:
    """(/proc entry, the fields of its `stat` after the command) of every live process in group `pgid`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # state, ppid, pgrp, ...
            yield entry, fields


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system, with the children they have reaped) of the processes of group `pgid`."""
    return sum(sum(int(v) for v in fields[11:15]) for _, fields in group_members(pgid)) / CLOCK_TICKS


def group_peak_rss_mb(pgid: int) -> float:
    """The largest peak resident set (VmHWM) among the processes of group `pgid`."""
    peak = 0
    for entry, _ in group_members(pgid):
        try:
            status = (entry / "status").read_text().splitlines()
        except OSError:
            continue
        peak = max([peak, *(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))])
    return peak / 1024
