"""The Acumatica connection as a Dagster resource.

Secrets are `stored(NAME)` references resolved at run time from the environment or the credential store.
"""

from __future__ import annotations

import dagster as dg

from connectors.acumatica.client import AcumaticaClient
from connectors.acumatica.settings import DEFAULT_ENDPOINT_VERSION, ENDPOINT_NAME
from resources import resolve, stored


class AcumaticaResource(dg.ConfigurableResource):
    """Acumatica ERP: instance URL, exact endpoint version, tenant and branch; cookie login or OAuth 2.0."""

    url: str = ""
    endpoint_version: str = DEFAULT_ENDPOINT_VERSION
    endpoint_name: str = ENDPOINT_NAME
    tenant: str = ""
    branch: str = ""
    username: str = ""
    password: str = stored("ACUMATICA_PASSWORD")
    client_id: str = ""
    client_secret: str = ""
    timeout_seconds: float = 60.0

    def client(self) -> AcumaticaClient:
        """A client whose session is logged out when it is closed: use it as a context manager."""
        return AcumaticaClient(url=self.url, endpoint_version=self.endpoint_version, endpoint_name=self.endpoint_name,
                               tenant=self.tenant, branch=self.branch, username=self.username,
                               password=resolve(self.password), client_id=self.client_id,
                               client_secret=resolve(self.client_secret), timeout=self.timeout_seconds)
