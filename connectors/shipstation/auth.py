"""V1 HTTP Basic auth (§1.1): the common ``BasicAuth`` with the key pair as user and password."""

from __future__ import annotations

from pydantic import SecretStr

from connectors.common.auth import BasicAuth, basic_token, reveal
from connectors.common.errors import AuthError
from connectors.shipstation.settings import SYSTEM

__all__ = ["ShipStationAuth", "basic_token", "reveal"]


class ShipStationAuth(BasicAuth):
    """``Authorization: Basic base64(api_key:api_secret)``; ``repr`` shows only a fingerprint."""

    def __init__(self, api_key: str | SecretStr, api_secret: str | SecretStr) -> None:
        if not reveal(api_key) or not reveal(api_secret):
            raise AuthError("ShipStation api_key and api_secret are both required", system=SYSTEM)
        super().__init__(api_key, api_secret, system=SYSTEM)
