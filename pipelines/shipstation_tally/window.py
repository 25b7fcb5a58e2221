"""Sync windows of the ShipStation flow and its cursors' streams: small pure helpers.

The sensors' cursors are `pipelines.polling.PollCursor`s (streams `modify`, `create`, `void`); the
version 1 cursors (the newest date seen) are read as confirmed positions. Each new window starts
an overlap before the confirmed position (ShipStation reference §6: edits in the same second, rows
shifting between pages, and the DST fall-back hour), so a window re-reads a little; the sync
ledger makes re-reading harmless. Run keys come from the window, so one window never runs twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipelines.polling import PollCursor, Stream

ORDERS_STREAM, CREATE_STREAM, VOID_STREAM = "modify", "create", "void"
DEFAULT_OVERLAP = timedelta(hours=2)


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def run_key(self) -> str:
        return f"shipstation-orders:{_stamp(self.start)}:{_stamp(self.end)}"

    def run_config(self, op_name: str = "shipstation__orders") -> dict:
        return {"ops": {op_name: {"config": {"modify_date_start": self.start.isoformat(),
                                             "modify_date_end": self.end.isoformat()}}}}


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def parse_instant(text: str) -> datetime:
    """An ISO date or datetime; a value without offset is taken as UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def resolve_window(start: str | None, end: str | None, default_start: datetime, now: datetime) -> Window:
    """The window a run reads: explicit bounds from run config, else sync start up to now."""
    window = Window(parse_instant(start) if start else default_start, parse_instant(end) if end else now)
    if window.end < window.start:
        raise ValueError(f"sync window ends ({window.end}) before it starts ({window.start})")
    return window


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
        window = Window(start, end)
        return shipment_run(window if by == CREATE_STREAM else None, window if by == VOID_STREAM else None,
                            end)[0]
    return key


def shipment_run(created: Window | None, voided: Window | None, now: datetime) -> tuple[str, dict]:
    """Run key and run config reading the label windows that have news (the other one stays empty)."""
    empty = Window(now, now)
    config = {"create_date_start": (created or empty).start.isoformat(),
              "create_date_end": (created or empty).end.isoformat(),
              "void_date_start": (voided or empty).start.isoformat(),
              "void_date_end": (voided or empty).end.isoformat()}
    key = "shipstation-shipments:" + ":".join(
        f"{_stamp(w.start)}-{_stamp(w.end)}" if w else "none" for w in (created, voided))
    return key, {"ops": {"shipstation__shipments": {"config": config}}}
