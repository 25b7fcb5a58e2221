"""Sync windows of the ShipStation flow and its cursors' streams: small pure helpers.

The sensors' cursors are `pipelines.polling.PollCursor`s (streams `modify`, `create`, `void`); the
version 1 cursors (the newest date seen) are read as confirmed positions. Each new window starts
an overlap before the confirmed position (ShipStation reference §6: edits in the same second, rows
shifting between pages, and the DST fall-back hour), so a window re-reads a little; the sync
ledger makes re-reading harmless. Run keys come from the window, so one window never runs twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pipelines import windows
from pipelines.polling import PollCursor, Stream
from pipelines.sides.shipstation.labels import CREATE_STREAM, OVERLAP, VOID_STREAM, labels_run_config
from pipelines.windows import parse_instant, stamp

__all__ = ["CREATE_STREAM", "DEFAULT_OVERLAP", "ORDERS_STREAM", "VOID_STREAM", "Window", "legacy_orders_cursor",
           "legacy_shipments_cursor", "parse_instant", "resolve_window", "shipment_key", "shipment_run"]

ORDERS_STREAM = "modify"
DEFAULT_OVERLAP = OVERLAP
SHIPMENTS_OP = "shipstation__shipments"


class Window(windows.Window):
    """A ShipStation `modifyDate` (orders) or label window."""

    def run_key(self) -> str:
        return self.key("shipstation-orders")

    def run_config(self, op_name: str = "shipstation__orders") -> dict:
        return windows.op_config(op_name, self.fields("modify_date"))


def resolve_window(start: str | None, end: str | None, default_start: datetime, now: datetime) -> Window:
    """The window a run reads: explicit bounds from run config, else sync start up to now."""
    window = windows.resolve_window(start, end, default_start, now)
    return Window(window.start, window.end)


def legacy_orders_cursor(data: dict) -> PollCursor:
    """A v1 orders cursor (`modify_date`: the newest seen) becomes the confirmed position of the `modify` stream."""
    if "modify_date" not in data:
        raise ValueError(f"not an orders cursor: {data!r}")
    return PollCursor({ORDERS_STREAM: Stream(parse_instant(data["modify_date"]))})


def legacy_shipments_cursor(data: dict) -> PollCursor:
    """A v1 shipments cursor (newest `create_date` / `void_date` seen) becomes two confirmed positions."""
    if data.get("kind") != "shipments":
        raise ValueError(f"not a shipments cursor: {data!r}")
    create, void = data.get("create_date"), data.get("void_date")
    return PollCursor({CREATE_STREAM: Stream(parse_instant(create) if create else None),
                       VOID_STREAM: Stream(parse_instant(void) if void else None)})


def shipment_key(by: str) -> Callable[[datetime, datetime], str]:
    """Run keys of one label stream's windows (`create` or `void`), the same as `shipment_run` gives."""
    def key(start: datetime, end: datetime) -> str:
        window = windows.Window(start, end)
        return shipment_run(window if by == CREATE_STREAM else None, window if by == VOID_STREAM else None,
                            end)[0]
    return key


def shipment_run(created: windows.Window | None, voided: windows.Window | None, now: datetime) -> tuple[str, dict]:
    """Run key and run config reading the label windows that have news (the other one stays empty)."""
    key = "shipstation-shipments:" + ":".join(
        f"{stamp(w.start)}-{stamp(w.end)}" if w else "none" for w in (created, voided))
    return key, labels_run_config(SHIPMENTS_OP, created, voided, now)
