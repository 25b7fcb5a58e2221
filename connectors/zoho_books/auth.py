"""The Zoho access-token authenticator: ``OAuth2RefreshToken`` on the data centre's accounts server.

The refresh token comes as a value or, so connectors never import the state layer, as a callable
the caller supplies (e.g. one that reads the credential store's ``ZOHO_REFRESH_TOKEN``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from pydantic import SecretStr

from connectors.common.auth import OAuth2RefreshToken
from connectors.common.auth.static import Secret
from connectors.common.errors import AuthError
from connectors.zoho_books import settings

RefreshToken = Secret | Callable[[], str]


def zoho_auth(client_id: str, client_secret: Secret, refresh_token: RefreshToken, *, data_centre: str = "us",
              accounts_url: str = "", transport: httpx.BaseTransport | None = None,
              timeout: float = settings.TIMEOUT_SECONDS, clock: Callable[[], float] = time.monotonic,
              ) -> OAuth2RefreshToken:
    """Access tokens renewed at 55 minutes and on a 401; ``api_domain`` kept from each token reply."""
    token = refresh_token() if callable(refresh_token) else refresh_token
    if not (token.get_secret_value() if isinstance(token, SecretStr) else token):
        raise AuthError("no Zoho refresh token: set ZOHO_REFRESH_TOKEN or run `ml-connector zoho authorize`",
                        system=settings.SYSTEM)
    url = settings.accounts_url(data_centre, accounts_url) + settings.TOKEN_PATH
    return OAuth2RefreshToken(url, client_id, client_secret, token, refresh_after=settings.REFRESH_AFTER_SECONDS,
                              client_auth="body", header_format=settings.AUTH_HEADER_FORMAT, timeout=timeout,
                              transport=transport, clock=clock, system=settings.SYSTEM)
