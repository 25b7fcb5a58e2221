"""Settings read from the environment: the one place that chooses sandbox or live systems.

The whole is composed of one settings model per connector (`connectors/<system>/settings.py`), per
flow (`pipelines/<pair>/settings.py`) and per application part; adding a system adds a base class
here and nothing else. Field names are the environment variables, lower-cased; every variable is
documented in README.md and `.env.example`. Secrets are `SecretStr` so they never print, and a
secret unset in the environment is read from the encrypted credential store; `redacted()` gives a
loggable view.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

from connectors.acumatica.settings import AcumaticaSettings
from connectors.shipstation.settings import ShipStationSettings
from connectors.tally.settings import TallySettings
from connectors.walmart.settings import WalmartSettings
from connectors.zoho_books.settings import ZohoBooksSettings
from ml_connector.webhooks.settings import WebhookSettings
from pipelines.acumatica_shipstation.settings import AcumaticaShipStationFlowSettings
from pipelines.shipstation_tally.settings import ShipStationTallyFlowSettings
from pipelines.shipstation_zoho.settings import ShipStationZohoFlowSettings
from pipelines.walmart_tally.outbound_settings import WalmartOutboundSettings
from pipelines.walmart_tally.settings import WalmartTallyFlowSettings
from state.credentials import stored_secrets


class OperationsSettings(BaseModel):
    """Where state lives and where operations alerts go."""

    model_config = ConfigDict(frozen=True)

    alert_webhook_url: SecretStr = SecretStr("")  # Slack-style incoming webhook; empty: alerts go to the log
    ml_connector_home: Path = Path(".ml-connector")
    ml_connector_merchant: str = ""  # the name runs are tagged with in the UI; empty: the Tally company


class Settings(ShipStationSettings, TallySettings, WalmartSettings, ZohoBooksSettings, AcumaticaSettings,
               ShipStationTallyFlowSettings, WalmartTallyFlowSettings, WalmartOutboundSettings,
               ShipStationZohoFlowSettings, AcumaticaShipStationFlowSettings, WebhookSettings, OperationsSettings):
    """ml-connector configuration: every connector's, flow's and application part's settings in one."""

    model_config = ConfigDict(frozen=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `env` (default `os.environ`); unset variables keep their defaults."""
        source = os.environ if env is None else env
        values = {name: source[name.upper()] for name in cls.model_fields if source.get(name.upper())}
        unset = [n.upper() for n, f in cls.model_fields.items() if f.annotation is SecretStr and n not in values]
        values |= {name.lower(): value for name, value in stored_secrets(unset, source).items()}  # env wins
        return cls(**values)

    @property
    def merchant(self) -> str:
        return self.ml_connector_merchant or getattr(self, "tally_company", "")

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
