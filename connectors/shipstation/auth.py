"""V1 HTTP Basic auth (§1.1) as an httpx ``Auth`` that never shows its secrets."""

from __future__ import annotations

import base64
from collections.abc import Generator

import httpx
from pydantic import SecretStr

from connectors.common.errors import AuthError
from connectors.shipstation.ratelimit import key_fingerprint
from connectors.shipstation.settings import SYSTEM


def reveal(value: str | SecretStr) -> str:
    """The plain text of a ``SecretStr`` (or a plain ``str``), stripped."""
    return (value.get_secret_value() if isinstance(value, SecretStr) else value).strip()


def basic_token(api_key: str, api_secret: str) -> str:
    """``base64("key:secret")`` on one line (``b64encode`` never wraps at 76 chars, unlike MIME)."""
    return base64.b64encode(f"{api_key}:{api_secret}".encode()).decode("ascii")


class ShipStationAuth(httpx.Auth):
    """Adds ``Authorization: Basic <token>`` to every request; ``repr`` shows only a fingerprint."""

    def __init__(self, api_key: str | SecretStr, api_secret: str | SecretStr) -> None:
        key, secret = reveal(api_key), reveal(api_secret)
        if not key or not secret:
            raise AuthError("ShipStation api_key and api_secret are both required", system=SYSTEM)
        self._key = SecretStr(key)
        self._secret = SecretStr(secret)
        self._header = SecretStr("Basic " + basic_token(key, secret))
        self.fingerprint = key_fingerprint(key, secret)

    def __repr__(self) -> str:
        return f"ShipStationAuth(key=sha256:{self.fingerprint[:12]})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Attach the Basic header."""
        request.headers["Authorization"] = self._header.get_secret_value()
        yield request

    def redaction_values(self) -> tuple[str, ...]:
        """Strings that must never appear in an error or log line."""
        token = self._header.get_secret_value().removeprefix("Basic ")
        return self._key.get_secret_value(), self._secret.get_secret_value(), token
