"""Walmart Marketplace endpoints, versions, page sizes and limits: changing one is a one-line diff here.

Section numbers refer to /work/shared/reference/walmart-marketplace.md.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, SecretStr

SYSTEM: Final = "walmart"
PRODUCTION_BASE_URL: Final = "https://marketplace.walmartapis.com"  # §1
SANDBOX_BASE_URL: Final = "https://sandbox.walmartapis.com"
SERVICE_NAME: Final = "Walmart Marketplace"  # §2: WM_SVC.NAME, conventionally this

TOKEN_PATH: Final = "/v3/token"
TOKEN_EXPIRES_IN: Final = 900.0  # §2: 15 minutes
TOKEN_RENEW_MARGIN: Final = 90.0  # §2: "renew a minute or two early"

ORDERS_PATH: Final = "/v3/orders"
RETURNS_PATH: Final = "/v3/returns"
RECON_DATES_PATH: Final = "/v3/report/reconreport/availableReconFiles"
RECON_FILE_PATH: Final = "/v3/report/reconreport/reconFile"
PING_PATH: Final = ORDERS_PATH  # one order is the cheapest authenticated read every seller can make

ORDERS_PAGE_LIMIT: Final = 200  # §7: default 100, max 200
RETURNS_PAGE_LIMIT: Final = 200  # §8: default 10, max 200

# §10: per-endpoint token buckets; until an endpoint's headers are known, pace gently.
DEFAULT_RATE_PER_MINUTE: Final = 300.0
DEFAULT_RETRY_AFTER_SECONDS: Final = 60.0

TIMEOUT_SECONDS: Final = 30.0
DOWNLOAD_TIMEOUT_SECONDS: Final = 300.0
MAX_RETRIES: Final = 5
BACKOFF_BASE_SECONDS: Final = 1.0
BACKOFF_MAX_SECONDS: Final = 60.0

# Header names (§2): matched case-insensitively by httpx.
HEADER_TOKEN: Final = "WM_SEC.ACCESS_TOKEN"
HEADER_CORRELATION: Final = "WM_QOS.CORRELATION_ID"
HEADER_SERVICE: Final = "WM_SVC.NAME"
HEADER_CHANNEL: Final = "WM_CONSUMER.CHANNEL.TYPE"


class WalmartSettings(BaseModel):
    """The Walmart Marketplace connection. Field names are the env variables."""

    model_config = ConfigDict(frozen=True)

    walmart_base_url: str = PRODUCTION_BASE_URL
    walmart_client_id: str = ""
    walmart_client_secret: SecretStr = SecretStr("")
    walmart_svc_name: str = SERVICE_NAME
    walmart_channel_type: str = ""  # WM_CONSUMER.CHANNEL.TYPE: optional for US sellers (§2)

    @property
    def configured(self) -> bool:
        """Both halves of the client credentials are set."""
        return bool(self.walmart_client_id.strip() and self.walmart_client_secret.get_secret_value().strip())
