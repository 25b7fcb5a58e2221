"""`WalmartResource`: builds the Walmart Marketplace client from configuration.

OAuth client credentials: the client id and secret (a credential-store reference resolved when the
client is built) buy a token that the client reuses until shortly before its 900 s expiry.
"""

from __future__ import annotations

import dagster as dg

from connectors.walmart.client import WalmartClient
from resources import resolve, stored


class WalmartResource(dg.ConfigurableResource):
    """Walmart Marketplace, one seller account."""

    base_url: str = "https://marketplace.walmartapis.com"
    client_id: str = ""
    client_secret: str = stored("WALMART_CLIENT_SECRET")
    svc_name: str = "Walmart Marketplace"
    timeout_seconds: float = 30.0

    def client(self) -> WalmartClient:
        return WalmartClient(base_url=self.base_url, client_id=resolve(self.client_id),
                             client_secret=resolve(self.client_secret), svc_name=self.svc_name,
                             timeout=self.timeout_seconds)
