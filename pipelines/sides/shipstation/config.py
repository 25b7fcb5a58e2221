"""Run config every flow that reads ShipStation orders takes (Launchpad, sensors, replay)."""

import dagster as dg


class OrdersWindowConfig(dg.Config):
    """What to read: a modifyDate window (empty: SHIPSTATION_SYNC_START up to now), given orders, or the
    orders behind webhook `resource_url`s."""

    modify_date_start: str | None = None
    modify_date_end: str | None = None
    order_ids: list[int] = []
    resource_urls: list[str] = []
