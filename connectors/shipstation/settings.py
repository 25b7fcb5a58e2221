"""ShipStation V1 endpoints, versions and limits: changing one is a one-line diff here.

Section numbers refer to /work/shared/reference/shipstation.md.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, SecretStr

SYSTEM = "shipstation"
V1_BASE_URL = "https://ssapi.shipstation.com"

# §1.4: pageSize defaults to 100, max 500.
PAGE_SIZE = 500
MAX_PAGE_SIZE = 500

# §1.2: nominal limit per key pair. Informational only: the limiter obeys the X-Rate-Limit-* headers,
# because the doc's own header example says 60.
RATE_LIMIT_PER_MINUTE = 40
RATE_LIMIT_WINDOW_SECONDS = 60.0  # assumed window when a response omits X-Rate-Limit-Reset
RATE_LIMIT_RESERVE = 2  # leave this many calls in each window for other tools on the same key (§1.2)
RESET_PADDING_SECONDS = 1.0  # §6.9: sleep X-Rate-Limit-Reset + 1 s

# §6.2: polling windows on modifyDate overlap by at least an hour (more across DST).
MODIFY_DATE_OVERLAP = timedelta(hours=1)
# §6.3/§6.4: shipments are polled by createDate and by voidDate; overlap those windows the same way.
SHIPMENT_DATE_OVERLAP = timedelta(hours=1)

TIMEOUT_SECONDS = 30.0
MAX_RETRIES = 5  # retries after the first attempt
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0

ORDERS_PATH = "/orders"
PRODUCTS_PATH = "/products"
CUSTOMERS_PATH = "/customers"
SHIPMENTS_PATH = "/shipments"
WEBHOOKS_PATH = "/webhooks"
WEBHOOK_SUBSCRIBE_PATH = "/webhooks/subscribe"
PING_PATH = ORDERS_PATH  # one order is the cheapest authenticated read every account can make

ORDER_STATUSES = (
    "awaiting_payment",
    "awaiting_shipment",
    "pending_fulfillment",
    "shipped",
    "on_hold",
    "cancelled",
    "rejected_fulfillment",
)


class ShipStationSettings(BaseModel):
    """The ShipStation connection: V1 key pair, V2 key (inventory). Field names are the env variables."""

    model_config = ConfigDict(frozen=True)

    shipstation_base_url: str = V1_BASE_URL
    shipstation_api_key: SecretStr = SecretStr("")
    shipstation_api_secret: SecretStr = SecretStr("")
    shipstation_v2_base_url: str = "https://api.shipstation.com"
    shipstation_v2_api_key: SecretStr = SecretStr("")
    shipstation_inventory_location_id: str = ""  # empty: the first V2 inventory location
