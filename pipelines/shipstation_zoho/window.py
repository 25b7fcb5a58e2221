"""Sync windows and run keys of the ShipStation -> Zoho flows: small pure helpers over `pipelines.windows`."""

from __future__ import annotations

from datetime import datetime

from pipelines import windows
from pipelines.sides.shipstation.labels import OVERLAP
from pipelines.windows import op_config, parse_instant

__all__ = ["CONTACTS_STREAM", "ORDERS_STREAM", "OVERLAP", "Window", "contacts_config", "orders_config",
           "parse_instant", "resolve"]

ORDERS_STREAM, CONTACTS_STREAM = "modify", "zoho_contacts"


class Window(windows.Window):
    """A ShipStation or Zoho window of this pair."""

    def key(self, kind: str) -> str:
        return super().key(f"zoho-{kind}")


def resolve(start: str | None, end: str | None, default_start: datetime, now: datetime) -> Window:
    """The window a run reads: explicit bounds from run config, else the sync start up to now."""
    window = windows.resolve_window(start, end, default_start, now)
    return Window(window.start, window.end)


def orders_config(start: datetime, end: datetime) -> dict:
    return op_config("shipstation__orders_to_zoho", windows.Window(start, end).fields("modify_date"))


def contacts_config(since: datetime | None) -> dict:
    return op_config("zoho_books__contacts_from_zoho", {"modified_since": since.isoformat() if since else None})
