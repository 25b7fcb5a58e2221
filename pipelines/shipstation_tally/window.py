"""Sync windows and the ShipStation `modifyDate` cursor: small pure helpers.

The cursor is a small versioned JSON value holding the newest `modifyDate` actually seen. Each new
window starts an overlap before it (ShipStation reference §6: edits in the same second, rows
shifting between pages, and the DST fall-back hour), so a window re-reads a little; the sync
ledger makes re-reading harmless. Run keys come from the window, so one window never runs twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

CURSOR_VERSION = 1
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


def dump_cursor(newest_seen: datetime) -> str:
    return json.dumps({"v": CURSOR_VERSION, "modify_date": newest_seen.astimezone(UTC).isoformat()})


def load_cursor(text: str | None) -> datetime | None:
    """The newest modifyDate seen, or None for a first tick. Unknown versions are refused loudly."""
    if not text:
        return None
    data = json.loads(text)
    if data.get("v") != CURSOR_VERSION:
        raise ValueError(f"unsupported cursor version {data.get('v')!r}: reset it with `dagster sensor cursor`")
    return parse_instant(data["modify_date"])


def next_window(cursor: datetime | None, newest: datetime, default_start: datetime,
                overlap: timedelta = DEFAULT_OVERLAP) -> Window | None:
    """The window a sensor tick should request, or None when nothing newer than the cursor exists."""
    if cursor is not None and newest <= cursor:
        return None
    start = default_start if cursor is None else max(default_start, cursor - overlap)
    return Window(start, newest)


@dataclass(frozen=True)
class ShipmentCursor:
    """Newest label createDate and voidDate seen: shipments have no modifyDate (reference §3.1)."""

    create: datetime | None = None
    void: datetime | None = None

    def dump(self) -> str:
        return json.dumps({"v": CURSOR_VERSION, "kind": "shipments",
                           "create_date": self.create.astimezone(UTC).isoformat() if self.create else None,
                           "void_date": self.void.astimezone(UTC).isoformat() if self.void else None})

    @classmethod
    def load(cls, text: str | None) -> ShipmentCursor:
        if not text:
            return cls()
        data = json.loads(text)
        if data.get("v") != CURSOR_VERSION or data.get("kind") != "shipments":
            raise ValueError(f"unsupported shipment cursor {text!r}: reset it with `dagster sensor cursor`")
        create, void = data.get("create_date"), data.get("void_date")
        return cls(parse_instant(create) if create else None, parse_instant(void) if void else None)


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
