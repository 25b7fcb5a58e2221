"""The orders and returns polling windows: small pure helpers (run keys and run config from a window)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pipelines import windows

ORDERS_STREAM, RETURNS_STREAM = "orders", "returns"
# Walmart filters by lastModified date; an overlap re-reads a little so edits at the window's edge are
# never missed. The sync ledger makes re-reading harmless.
OVERLAP = timedelta(hours=1)
ORDERS_OP = "walmart__orders"
RETURNS_OP = "walmart__returns"
MAX_CREATED_AGE = timedelta(days=179)  # reference §7: only orders created in the last 180 days


class Window(windows.Window):
    """A `lastModified` window of Walmart orders or returns."""

    def run_key(self, stream: str = "orders") -> str:
        return self.key(f"walmart-{stream}")

    def run_config(self, op: str = ORDERS_OP) -> dict:
        return windows.op_config(op, self.fields("modified"))


def resolve_window(start: str | None, end: str | None, default_start: datetime, now: datetime) -> Window:
    """The window a run reads (see `pipelines.windows.resolve_window`)."""
    window = windows.resolve_window(start, end, default_start, now)
    return Window(window.start, window.end)


def created_floor(sync_start: datetime, end: datetime) -> datetime:
    """`createdStartDate` for a window ending at `end`: Walmart defaults it to a week ago (§7), so say it."""
    return max(sync_start, end - MAX_CREATED_AGE)
