"""Run config every flow that reads ShipStation orders takes (Launchpad, sensors, replay)."""

from collections.abc import Callable, Sequence

import dagster as dg

from pipelines.windows import op_config
from state.ledger import Entry

ReplayConfig = Callable[[Sequence[Entry]], dict]


class OrdersWindowConfig(dg.Config):
    """What to read: a modifyDate window (empty: SHIPSTATION_SYNC_START up to now), given orders, or the
    orders behind webhook `resource_url`s."""

    modify_date_start: str | None = None
    modify_date_end: str | None = None
    order_ids: list[int] = []
    resource_urls: list[str] = []


def orders_by_id(op: str) -> ReplayConfig:
    """Run config for `op` re-reading the ledger entries' orders by id (replay, transient retries)."""
    def config(entries: Sequence[Entry]) -> dict:
        return op_config(op, {"order_ids": sorted({int(e.source_id) for e in entries if e.source_id.isdigit()})})
    return config
