"""Dagster resources: read configuration and hand out connector clients and the state stores.

No conversion code lives here (that is in `pipelines/<flow>/mapping.py`) and nothing here knows
whether it talks to the sandbox or a live system: only the configured URLs and credentials differ.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from connectors.shipstation.client import ShipStationClient
from connectors.shipstation.v2 import ShipStationV2Client
from connectors.tally.client import TallyClient
from state.audit_hook import AuditHook
from state.credentials import secret
from state.ledger import SyncLedger
from state.staging import StagingStore

STORED = "@credentials:"  # a secret field holding STORED + NAME is read from the credential store at run time


def stored(name: str) -> str:
    """The field value that says "read secret `name` from the environment or store when the client is built"."""
    return STORED + name


def resolve(value: str) -> str:
    """A secret field's value: itself, or the environment/store value it names (never in run config)."""
    return secret(value[len(STORED):]) if value.startswith(STORED) else value


class ShipStationResource(dg.ConfigurableResource):
    """ShipStation V1 (Basic auth with an API key pair)."""

    base_url: str = "https://ssapi.shipstation.com"
    api_key: str = stored("SHIPSTATION_API_KEY")
    api_secret: str = stored("SHIPSTATION_API_SECRET")
    timeout_seconds: float = 30.0

    def client(self) -> ShipStationClient:
        return ShipStationClient(base_url=self.base_url, api_key=resolve(self.api_key),
                                 api_secret=resolve(self.api_secret), timeout=self.timeout_seconds)


class ShipStationV2Resource(dg.ConfigurableResource):
    """ShipStation V2 (`API-Key` header): inventory levels. `location_id` empty: the first inventory location."""

    base_url: str = "https://api.shipstation.com"
    api_key: str
    location_id: str = ""
    timeout_seconds: float = 30.0

    def client(self) -> ShipStationV2Client:
        return ShipStationV2Client(base_url=self.base_url, api_key=resolve(self.api_key),
                                   timeout=self.timeout_seconds)


class TallyResource(dg.ConfigurableResource):
    """TallyPrime, directly on port 9000 or through the ml-connector LAN agent.

    Every asset that uses it for writing belongs to the Dagster pool `tally` (limit 1), so no two
    steps of any run talk to Tally at once; the agent's own queue is the second line of defence.
    """

    url: str = "http://127.0.0.1:9000"
    company: str
    agent_token: str = ""
    username: str = ""  # TALLY_USERNAME / TALLY_PASSWORD: a company with security (see TallyClient)
    password: str = ""
    # Above the agent's own 120 s bound plus queueing, so the agent answers before we give up.
    timeout_seconds: float = 180.0
    ca_cert: str = ""  # TALLY_CA_CERT: the LAN agent's certificate (https:// agent URL), trusted alone

    def client(self, audit: AuditHook | None = None) -> TallyClient:
        return TallyClient(self.url, self.company, token=resolve(self.agent_token) or None,
                           username=resolve(self.username) or None, password=resolve(self.password) or None,
                           timeout=self.timeout_seconds, on_exchange=audit, ca_cert=self.ca_cert or None)


class AlertResource(dg.ConfigurableResource):
    """Where operations alerts go: a Slack-style incoming-webhook URL (secret), or the Dagster log when empty."""

    webhook_url: str = ""

    def url(self) -> str:
        """The webhook URL (read from the environment or credential store at run time), or ""."""
        return resolve(self.webhook_url)


class StateResource(dg.ConfigurableResource):
    """The state directory: sync ledger + audit trail (SQLite) and staged snapshots (DuckDB)."""

    home: str = ".ml-connector"

    def ledger(self) -> SyncLedger:
        return SyncLedger(Path(self.home) / "ledger.sqlite3")

    def staging(self) -> StagingStore:
        return StagingStore(Path(self.home) / "staging.duckdb")


# One module per newer system; imported last, since each uses `stored` and `resolve` above.
from resources.acumatica import AcumaticaResource as AcumaticaResource  # noqa: E402
from resources.walmart import WalmartResource as WalmartResource  # noqa: E402
from resources.zoho_books import ZohoBooksResource as ZohoBooksResource  # noqa: E402
