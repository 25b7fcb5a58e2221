"""Settings read from the environment: the one place that chooses sandbox or live systems.

Every variable is documented in README.md and `.env.example`. Secrets are `SecretStr` so they never
print; `redacted()` gives a loggable view.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from pipelines.shipstation_tally.mapping import OrderVoucherConfig
from state.credentials import stored_secrets

SHIPSTATION_V1_URL = "https://ssapi.shipstation.com"
SHIPSTATION_V2_URL = "https://api.shipstation.com"
SHIPENGINE_JWKS_URL = "https://api.shipengine.com/jwks"
_VOUCHER = OrderVoucherConfig()  # the mapping owns the defaults of every voucher setting


class Settings(BaseModel):
    """ml-connector configuration; field names are the environment variables, lower-cased."""

    model_config = ConfigDict(frozen=True)

    shipstation_base_url: str = SHIPSTATION_V1_URL
    shipstation_api_key: SecretStr = SecretStr("")
    shipstation_api_secret: SecretStr = SecretStr("")
    shipstation_sync_start: datetime = datetime(2026, 1, 1, tzinfo=UTC)
    tally_url: str = "http://127.0.0.1:9000"
    tally_agent_token: SecretStr = SecretStr("")
    tally_company: str = ""
    tally_username: SecretStr = SecretStr("")  # a company with security (TallyPrime: Company > Alter > Security)
    tally_password: SecretStr = SecretStr("")
    tally_timezone: str = _VOUCHER.timezone
    tally_order_voucher_type: str = _VOUCHER.voucher_type
    tally_sales_ledger: str = _VOUCHER.sales_ledger
    tally_shipping_ledger: str = _VOUCHER.shipping_ledger
    tally_tax_ledger: str = _VOUCHER.tax_ledger
    tally_discount_ledger: str = _VOUCHER.discount_ledger
    tally_customer_group: str = "Sundry Debtors"
    tally_godown: str = _VOUCHER.godown
    tally_sku_map: Path | None = None
    tally_delivery_note_type: str = "Delivery Note"
    tally_delivery_godown: str = ""  # empty: TALLY_GODOWN
    tally_create_missing_stock_items: bool = False
    tally_stock_item_unit: str = "Nos"
    tally_stock_item_group: str = ""  # empty: Primary
    shipstation_v2_base_url: str = SHIPSTATION_V2_URL
    shipstation_v2_api_key: SecretStr = SecretStr("")
    shipstation_inventory_location_id: str = ""  # empty: the first V2 inventory location
    webhook_secret: SecretStr = SecretStr("")
    webhook_secret_header: str = ""  # empty: the secret is the last segment of the webhook URL path
    webhook_jwks_url: str = SHIPENGINE_JWKS_URL
    webhook_public_url: str = ""  # where ShipStation reaches `ml-connector webhooks` (for subscribe)
    webhook_host: str = "127.0.0.1"
    webhook_port: int = 8787
    alert_webhook_url: SecretStr = SecretStr("")  # Slack-style incoming webhook; empty: alerts go to the log
    ml_connector_home: Path = Path(".ml-connector")

    @field_validator("shipstation_sync_start", mode="before")
    @classmethod
    def _parse_start(cls, value: object) -> object:
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return value

    @field_validator("tally_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"TALLY_TIMEZONE: unknown time zone {value!r}") from exc
        return value

    @field_validator("tally_sku_map", mode="before")
    @classmethod
    def _empty_path(cls, value: object) -> object:
        return None if value in ("", None) else value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env` (default `os.environ`); unset variables keep their defaults."""
        source = os.environ if env is None else env
        values = {name: source[name.upper()] for name in cls.model_fields if source.get(name.upper())}
        unset = [n.upper() for n, f in cls.model_fields.items() if f.annotation is SecretStr and n not in values]
        values |= {name.lower(): value for name, value in stored_secrets(unset, source).items()}  # env wins
        return cls(**values)

    @property
    def state_dir(self) -> Path:
        return self.ml_connector_home

    def redacted(self) -> dict[str, str]:
        """Every setting as text, with secrets shown only as set/unset."""
        out: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name.upper()] = "(set)" if value.get_secret_value() else "(unset)"
            else:
                out[name.upper()] = "" if value is None else str(value)
        return out
