"""`ZohoBooksResource`: builds the Zoho Books client from configuration.

Secrets are credential-store references resolved when the client is built: the refresh token from
`ZOHO_REFRESH_TOKEN` in the environment or the encrypted store, where `ml-connector zoho authorize`
puts it.
"""

from __future__ import annotations

import dagster as dg
from pydantic import SecretStr

from connectors.zoho_books.client import ZohoBooksClient
from connectors.zoho_books.limits import OrgLimits, shared_limits
from connectors.zoho_books.settings import ZohoBooksSettings
from resources import resolve, stored
from state.audit_hook import AuditHook


class ZohoBooksResource(dg.ConfigurableResource):
    """Zoho Books (OAuth refresh token) for one organisation in one data centre."""

    data_centre: str = "us"
    accounts_url: str = ""
    client_id: str = ""
    client_secret: str = stored("ZOHO_CLIENT_SECRET")
    refresh_token: str = stored("ZOHO_REFRESH_TOKEN")
    organization_id: str = ""
    daily_limit: int = 0
    concurrency: int = 5
    requests_per_minute: int = 100  # the sandbox may switch its limit off (0) for a bench
    timeout_seconds: float = 30.0

    def client(self, audit: AuditHook | None = None) -> ZohoBooksClient:
        """The client; with `audit`, every request and response (no header, no token) goes to the audit trail."""
        config = ZohoBooksSettings(zoho_data_centre=self.data_centre, zoho_accounts_url=self.accounts_url,
                                   zoho_client_id=self.client_id,
                                   zoho_client_secret=SecretStr(resolve(self.client_secret)),
                                   zoho_organization_id=self.organization_id, zoho_daily_limit=self.daily_limit,
                                   zoho_concurrency=self.concurrency)
        limits = shared_limits(self.organization_id, self.accounts_url or self.data_centre, lambda: OrgLimits(
            per_minute=self.requests_per_minute, daily_limit=self.daily_limit, concurrency=self.concurrency))
        return ZohoBooksClient.from_settings(config, refresh_token=lambda: resolve(self.refresh_token),
                                             limits=limits, timeout=self.timeout_seconds, on_exchange=audit)
