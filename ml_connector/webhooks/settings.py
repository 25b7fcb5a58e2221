"""The webhook receiver's settings. Field names are the environment variables, lower-cased."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr

SHIPENGINE_JWKS_URL = "https://api.shipengine.com/jwks"


class WebhookSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    webhook_secret: SecretStr = SecretStr("")
    webhook_secret_header: str = ""  # empty: the secret is the last segment of the webhook URL path
    webhook_jwks_url: str = SHIPENGINE_JWKS_URL
    webhook_public_url: str = ""  # where ShipStation reaches `ml-connector webhooks` (for subscribe)
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8787
    webhook_rate_per_minute: float = 3000.0  # per sender address; over it: 429 with Retry-After
    webhook_rate_burst: float = 1000.0
    # Zoho Books webhooks' secret (12-50 letters or digits, the same as in Zoho); empty: POST /zoho/webhook is off
    zoho_webhook_secret: SecretStr = SecretStr("")
    # Walmart order notifications (PO_CREATED): the secret the subscription authenticates with (>= 16
    # characters); empty: POST /walmart/webhook is off. HMAC: a signature of the body in the header;
    # BASIC_AUTH: user and secret in the header.
    walmart_webhook_secret: SecretStr = SecretStr("")
    walmart_webhook_auth: Literal["HMAC", "BASIC_AUTH"] = "HMAC"
    walmart_webhook_auth_header: str = "Authorization"
    walmart_webhook_user: str = "walmart"  # BASIC_AUTH only
