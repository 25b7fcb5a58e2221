"""Static credentials as httpx ``Auth`` objects: an API-key header, HTTP Basic. Secrets never show."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Generator

import httpx
from pydantic import SecretStr

from connectors.common.errors import AuthError

Secret = str | SecretStr


def reveal(value: Secret) -> str:
    """The plain text of a ``SecretStr`` (or a plain ``str``), stripped."""
    return (value.get_secret_value() if isinstance(value, SecretStr) else value).strip()


def sha256_fingerprint(*parts: str) -> str:
    """SHA-256 hex of ``parts`` joined by ``:``: safe to log, store and key a shared limiter by."""
    return hashlib.sha256(":".join(parts).encode()).hexdigest()


def basic_token(user: str, password: str) -> str:
    """``base64("user:password")`` on one line (``b64encode`` never wraps at 76 chars, unlike MIME)."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class ApiKeyAuth(httpx.Auth):
    """Adds ``<header_name>: <key>`` to every request; ``repr`` shows only a SHA-256 fingerprint."""

    def __init__(self, header_name: str, key: Secret, *, system: str = "connector") -> None:
        plain = reveal(key)
        if not plain:
            raise AuthError(f"an API key for the {header_name} header is required", system=system)
        self.header_name = header_name
        self._key = SecretStr(plain)
        self.fingerprint = sha256_fingerprint(plain)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(header={self.header_name!r}, key=sha256:{self.fingerprint[:12]})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Attach the key header."""
        request.headers[self.header_name] = self._key.get_secret_value()
        yield request

    def redaction_values(self) -> tuple[str, ...]:
        """Strings that must never appear in an error or log line."""
        return (self._key.get_secret_value(),)


class BasicAuth(httpx.Auth):
    """Adds ``Authorization: Basic <token>``; ``repr`` shows only a SHA-256 fingerprint of the pair."""

    def __init__(self, user: Secret, password: Secret, *, system: str = "connector") -> None:
        name, secret = reveal(user), reveal(password)
        if not name or not secret:
            raise AuthError("a user name and a password are both required", system=system)
        self._user = SecretStr(name)
        self._password = SecretStr(secret)
        self._header = SecretStr("Basic " + basic_token(name, secret))
        self.fingerprint = sha256_fingerprint(name, secret)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key=sha256:{self.fingerprint[:12]})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Attach the Basic header."""
        request.headers["Authorization"] = self._header.get_secret_value()
        yield request

    def redaction_values(self) -> tuple[str, ...]:
        """Strings that must never appear in an error or log line (user, password and the encoded pair)."""
        token = self._header.get_secret_value().removeprefix("Basic ")
        return self._user.get_secret_value(), self._password.get_secret_value(), token
