"""How the client signs in (reference §2): a cookie session that always logs out, or OAuth 2.0.

Cookie login posts ``{"name", "password", "tenant", "branch", "locale"}`` (``tenant``, not the older
``company``: send one, not both). OAuth uses the Resource Owner Password Credentials grant at
``/identity/connect/token`` (form-encoded, client id and secret in the body): Acumatica offers no
client-credentials grant (§2 lists ``authorization_code``, ``password`` and ``refresh_token``).
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from connectors.acumatica import settings
from connectors.common.auth import CookieSession
from connectors.common.auth.oauth import OAuth2ClientCredentials
from connectors.common.auth.static import Secret, reveal
from connectors.common.errors import AuthError


def cookie_session(url: str, *, username: str, password: Secret, tenant: str, branch: str,
                   timeout: float, transport: httpx.BaseTransport | None) -> CookieSession:
    """The Acumatica cookie session; ``close()`` (the client's too) always logs out."""
    if not username or not reveal(password):
        raise AuthError("ACUMATICA_USERNAME and ACUMATICA_PASSWORD are required for cookie login",
                        system=settings.SYSTEM)
    credentials = {"name": username, "password": reveal(password), "locale": "en-US"}
    credentials |= {k: v for k, v in (("tenant", tenant), ("branch", branch)) if v}
    return CookieSession(url, credentials, login_path=settings.LOGIN_PATH, logout_path=settings.LOGOUT_PATH,
                         timeout=timeout, transport=transport, system=settings.SYSTEM)


class AcumaticaPasswordGrant(OAuth2ClientCredentials):
    """OAuth 2.0 password grant: a bearer token for the integration user, renewed before ``expires_in``."""

    def __init__(self, url: str, *, client_id: Secret, client_secret: Secret, username: str, password: Secret,
                 scope: str = settings.OAUTH_SCOPE, timeout: float = settings.TIMEOUT_SECONDS,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not username or not reveal(password):
            raise AuthError("ACUMATICA_USERNAME and ACUMATICA_PASSWORD are required for OAuth",
                            system=settings.SYSTEM)
        super().__init__(url.rstrip("/") + settings.TOKEN_PATH, client_id, client_secret, scope=scope,
                         default_expires_in=3600.0, timeout=timeout, transport=transport, system=settings.SYSTEM)
        self._username = username
        self._password = SecretStr(reveal(password))

    @property
    def signed_in(self) -> bool:
        """Whether a token was obtained (its session must then be signed out)."""
        return self._token is not None

    def _more_secrets(self) -> tuple[str, ...]:
        return (self._password.get_secret_value(),)

    def _request_token(self) -> dict[str, Any]:
        form = {"grant_type": "password", "username": self._username,
                "password": self._password.get_secret_value(), "scope": self.scope or settings.OAUTH_SCOPE,
                "client_id": self._client_id.get_secret_value(),
                "client_secret": self._client_secret.get_secret_value()}
        return self._post_token(form, basic=False)
