"""Sync windows and run keys of the ShipStation -> Zoho flows: small pure helpers.

(`pipelines/shipstation_tally/window.py` has the same rules for its pair; a shared home in
`pipelines.polling` would serve both.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

ORDERS_STREAM, CREATE_STREAM, VOID_STREAM, CONTACTS_STREAM = "modify", "create", "void", "zoho_contacts"
OVERLAP = timedelta(hours=2)  # ShipStation reference §6: same-second edits, page shifts, the DST fall-back hour


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def key(self, kind: str) -> str:
        return f"zoho-{kind}:{_stamp(self.start)}:{_stamp(self.end)}"


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def parse_instant(text: str) -> datetime:
    """An ISO date or datetime; a value without offset is taken as UTC."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def resolve(start: str | None, end: str | None, default_start: datetime, now: datetime) -> Window:
    """The window a run reads: explicit bounds from run config, else the sync start up to now."""
    window = Window(parse_instant(start) if start else default_start, parse_instant(end) if end else now)
    if window.end < window.start:
        raise ValueError(f"sync window ends ({window.end}) before it starts ({window.start})")
    return window


def orders_config(start: datetime, end: datetime) -> dict:
    return {"ops": {"shipstation__orders_to_zoho": {"config": {
        "modify_date_start": start.isoformat(), "modify_date_end": end.isoformat()}}}}


def labels_config(created: Window | None, voided: Window | None, now: datetime) -> dict:
    empty = Window(now, now)
    return {"ops": {"shipstation__labels_to_zoho": {"config": {
        "create_date_start": (created or empty).start.isoformat(),
        "create_date_end": (created or empty).end.isoformat(),
        "void_date_start": (voided or empty).start.isoformat(), "void_date_end": (voided or empty).end.isoformat()}}}}


def contacts_config(since: datetime | None) -> dict:
    return {"ops": {"zoho_books__contacts_from_zoho": {"config": {
        "modified_since": since.isoformat() if since else None}}}}
