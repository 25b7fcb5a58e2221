"""Settings of the Tally -> Walmart stock and price flow (env variables) and its Dagster resource.

Prices go to Walmart as they stand in Tally, labelled WALMART_PRICE_CURRENCY (USD on Walmart US): no
exchange rate is applied. A company whose books are in rupees keeps its Walmart prices in a price level
of their own (TALLY_WALMART_PRICE_LEVEL, e.g. "Walmart US"); the standard selling price suits only books
kept in the marketplace's currency.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipelines.walmart_tally.outbound_plan import read_walmart_sku_map
from pipelines.walmart_tally.outbound_push import FeedOptions

DEFAULT_SCHEDULE = "0 * * * *"  # hourly


class WalmartOutboundSettings(BaseModel):
    """How Tally's stock and prices reach Walmart. Field names are the env variables."""

    model_config = ConfigDict(frozen=True)

    tally_walmart_price_level: str = ""  # empty: the standard selling price (STANDARDPRICELIST)
    walmart_sku_map: Path | None = None  # CSV stock_item,sku; unmapped items use their name
    walmart_sku_map_only: bool = False  # send only the items the map names
    walmart_listed_only: bool = False  # send only SKUs Walmart's catalogue lists (reads GET /v3/items each run)
    walmart_stock_buffer: int = Field(default=0, ge=0)  # units held back from Walmart per SKU
    walmart_feed_threshold: int = Field(default=25, ge=0)  # more changed SKUs than this go as a bulk feed
    walmart_feed_wait_seconds: float = Field(default=600.0, ge=0)
    walmart_feed_poll_seconds: float = Field(default=10.0, gt=0)
    walmart_feed_max_age_hours: float = Field(default=6.0, gt=0)  # an unfinished feed older than this is re-sent
    walmart_stock_schedule: str = DEFAULT_SCHEDULE  # cron
    walmart_price_currency: str = "USD"
    walmart_ship_node: str = ""  # empty: the seller's default ship node
    tally_stock_refresh_hours: float = Field(default=6.0, gt=0)  # re-read quantities at least this often

    @field_validator("walmart_sku_map", mode="before")
    @classmethod
    def _empty_path(cls, value: object) -> object:
        return None if value in ("", None) else value

    @field_validator("walmart_stock_schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError(f"WALMART_STOCK_SCHEDULE: not a five-field cron expression: {value!r}")
        return value


class WalmartOutboundConfig(dg.ConfigurableResource):
    """The flow's settings as a resource (seen in the UI's run config)."""

    price_level: str = ""
    sku_map_path: str = ""
    sku_map_only: bool = False
    listed_only: bool = False
    stock_buffer: int = 0
    feed_threshold: int = 25
    feed_wait_seconds: float = 600.0
    feed_poll_seconds: float = 10.0
    feed_max_age_hours: float = 6.0
    currency: str = "USD"
    ship_node: str = ""
    refresh_hours: float = 6.0
    timezone: str = "Asia/Kolkata"  # the books' zone: "today" for the price in force and the closing stock

    @classmethod
    def from_settings(cls, flow: WalmartOutboundSettings, timezone: str) -> WalmartOutboundConfig:
        return cls(price_level=flow.tally_walmart_price_level, sku_map_path=str(flow.walmart_sku_map or ""),
                   sku_map_only=flow.walmart_sku_map_only, listed_only=flow.walmart_listed_only,
                   stock_buffer=flow.walmart_stock_buffer,
                   feed_threshold=flow.walmart_feed_threshold, feed_wait_seconds=flow.walmart_feed_wait_seconds,
                   feed_poll_seconds=flow.walmart_feed_poll_seconds,
                   feed_max_age_hours=flow.walmart_feed_max_age_hours, currency=flow.walmart_price_currency,
                   ship_node=flow.walmart_ship_node, refresh_hours=flow.tally_stock_refresh_hours, timezone=timezone)

    def today(self, now: datetime | None = None) -> date:
        """Today in the books' time zone."""
        return (now or datetime.now(ZoneInfo(self.timezone))).astimezone(ZoneInfo(self.timezone)).date()

    def sku_map(self) -> dict[str, list[str]]:
        return read_walmart_sku_map(self.sku_map_path)

    def feed_options(self) -> FeedOptions:
        return FeedOptions(threshold=self.feed_threshold, wait_seconds=self.feed_wait_seconds,
                           poll_seconds=self.feed_poll_seconds, max_feed_age=timedelta(hours=self.feed_max_age_hours))

    def refresh_after(self) -> timedelta:
        return timedelta(hours=self.refresh_hours)
