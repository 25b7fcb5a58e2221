"""`WalmartResource`: builds the Walmart Marketplace client from configuration.

OAuth client credentials: the client id and secret (a credential-store reference resolved when the
client is built) buy a token that the client reuses until shortly before its 900 s expiry. With the
state directory set (`state_home`), that token is shared by every process of the merchant through an
encrypted cache under `<ML_CONNECTOR_HOME>/tokens/` (state.token_cache): the steps of a run, each its own
process, make one token request per expiry window between them, not one each.
"""

from __future__ import annotations

import dagster as dg

from connectors.walmart.client import WalmartClient
from resources import resolve, stored
from state.token_cache import FileTokenCache


class WalmartResource(dg.ConfigurableResource):
    """Walmart Marketplace, one seller account."""

    base_url: str = "https://marketplace.walmartapis.com"
    client_id: str = ""
    client_secret: str = stored("WALMART_CLIENT_SECRET")
    svc_name: str = "Walmart Marketplace"
    timeout_seconds: float = 30.0
    state_home: str = ""  # ML_CONNECTOR_HOME: one Walmart token shared by every process (empty: per process)

    def client(self) -> WalmartClient:
        cache = FileTokenCache.for_home(self.state_home) if self.state_home else None
        return WalmartClient(base_url=self.base_url, client_id=resolve(self.client_id),
                             client_secret=resolve(self.client_secret), svc_name=self.svc_name,
                             timeout=self.timeout_seconds, token_cache=cache)
