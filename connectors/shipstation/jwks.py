"""The V2 (ShipEngine) webhook JWKS document (reference §5.4), fetched like any other connector call."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors.common.errors import ServerError
from connectors.common.http import BaseClient
from connectors.common.retry import RetryPolicy

SYSTEM = "shipstation_jwks"


class JwksClient(BaseClient):
    """GETs one public JWKS URL (no credentials); one attempt by default, since the caller caches and retries."""

    system = SYSTEM

    def __init__(self, url: str, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None,
                 retry: RetryPolicy = RetryPolicy(max_attempts=1)) -> None:
        target = httpx.URL(url)
        if target.scheme not in ("http", "https") or not target.host:
            raise ValueError("the JWKS URL must be an absolute http(s) URL")
        self.url = url
        self._path, self._params = target.path, dict(target.params)
        origin = str(target.copy_with(path="/", query=None, fragment=None))
        super().__init__(base_url=origin, auth=None, timeout=timeout, transport=transport,
                         headers={"Accept": "application/json"}, retry=retry)

    def fetch(self) -> dict[str, Any]:
        """The JWKS document as a dict (``{"keys": [...]}``); ``ConnectorError`` when it cannot be had."""
        document = self.get_json(self._path, self._params)
        if not isinstance(document, Mapping):
            raise ServerError(f"JWKS is not a JSON object but {type(document).__name__}", system=self.system,
                              request=f"GET {self._path}")
        return dict(document)
