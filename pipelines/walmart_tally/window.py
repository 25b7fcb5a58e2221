"""The orders and returns polling windows: small pure helpers (run keys and run config from a window)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipelines import windows

ORDERS_STREAM, RETURNS_STREAM = "orders", "returns"
# Walmart filters by lastModified date; an overlap re-reads a little so edits at the window's edge are
# never missed. The sync ledger makes re-reading harmless.
OVERLAP = timedelta(hours=1)
ORDERS_OP = "walmart__orders"
RETURNS_OP = "walmart__returns"
MAX_CREATED_AGE = timedelta(days=179)  # reference §7: only orders created in the last 180 days


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def run_key(self, stream: str = "orders") -> str:
        return f"walmart-{stream}:{_stamp(self.start)}:{_stamp(self.end)}"

    def run_config(self, op: str = ORDERS_OP) -> dict:
        config = {"modified_start": self.start.isoformat(), "modified_end": self.end.isoformat()}
        return {"ops": {op: {"config": config}}}


def resolve_window(start: str | None, end: str | None, default_start: datetime, now: datetime) -> Window:
    """The window a run reads (see `pipelines.windows.resolve_window`)."""
    return Window(*windows.resolve_window(start, end, default_start, now))


def created_floor(sync_start: datetime, end: datetime) -> datetime:
    """`createdStartDate` for a window ending at `end`: Walmart defaults it to a week ago (§7), so say it."""
    return max(sync_start, end - MAX_CREATED_AGE)


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
