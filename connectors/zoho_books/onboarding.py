"""OAuth 2.0 authorization-code onboarding for Zoho Books (reference §2).

1. :func:`consent_url` for the organisation's data centre: the user opens it, consents, and is sent
   to the redirect URI with ``code=...`` (plus ``location`` and ``accounts-server``).
2. :func:`exchange_code` turns the code into a refresh token **once**: a grant code is single use
   and short-lived (two minutes at most, :data:`~connectors.zoho_books.settings.GRANT_CODE_LIFETIME_SECONDS`),
   so a code received longer ago than that is refused *before* the exchange, and a refused
   exchange is never retried. The caller stores the refresh token (the credential store's
   ``ZOHO_REFRESH_TOKEN``); nothing here writes it anywhere or logs it.
"""

from __future__ import annotations

import secrets as _secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
from pydantic import SecretStr

from connectors.common.auth.static import Secret, reveal
from connectors.common.errors import AuthError, TransportError, excerpt
from connectors.common.http import decode_json
from connectors.zoho_books import settings

Clock = Callable[[], float]


@dataclass(frozen=True)
class GrantCode:
    """A grant code and when we received it (``time.monotonic`` by default)."""

    code: SecretStr
    received_at: float
    accounts_server: str = ""  # the redirect's `accounts-server` parameter, when the user pasted it

    def __repr__(self) -> str:
        return f"GrantCode(received_at={self.received_at:.0f})"

    def age(self, clock: Clock = time.monotonic) -> float:
        return clock() - self.received_at


@dataclass(frozen=True)
class Grant:
    """What an exchange returns: the refresh token to store, and where the API lives."""

    refresh_token: SecretStr
    api_domain: str
    access_token: SecretStr = field(repr=False)
    expires_in: float = 3600.0


def consent_url(client_id: str, *, data_centre: str = "us", accounts_url: str = "", redirect_uri: str,
                scopes: Sequence[str] = settings.DEFAULT_SCOPES, state: str | None = None) -> str:
    """The consent page to open in a browser (``access_type=offline`` so a refresh token comes back)."""
    query = {"scope": ",".join(scopes), "client_id": client_id, "response_type": "code",
             "redirect_uri": redirect_uri, "access_type": "offline", "prompt": "consent",
             "state": state or _secrets.token_urlsafe(16)}
    return settings.accounts_url(data_centre, accounts_url) + settings.AUTHORIZE_PATH + "?" + urlencode(query)


def receive_code(code: str, *, accounts_server: str = "", clock: Clock = time.monotonic) -> GrantCode:
    """Timestamp a code the moment it arrives; its two minutes start now at the latest.

    `code` may be the bare code or the whole redirect URL the browser landed on (its `code` and
    `accounts-server` parameters are read from it; an `error` parameter is reported).
    """
    plain = code.strip()
    if "?" in plain or plain.startswith("http"):
        query = dict(parse_qsl(urlsplit(plain).query))
        if query.get("error"):
            raise AuthError(f"consent was not given: {excerpt(query['error'])}", system=settings.SYSTEM)
        plain, accounts_server = query.get("code", "").strip(), query.get("accounts-server", accounts_server)
    if not plain:
        raise AuthError("no authorization code given", system=settings.SYSTEM)
    return GrantCode(SecretStr(plain), clock(), accounts_server.rstrip("/"))


def exchange_code(grant: GrantCode, *, client_id: str, client_secret: Secret, redirect_uri: str,
                  data_centre: str = "us", accounts_url: str = "", transport: httpx.BaseTransport | None = None,
                  timeout: float = settings.TIMEOUT_SECONDS, clock: Clock = time.monotonic) -> Grant:
    """Exchange a grant code for a refresh token, once; a code past its two minutes is refused unsent.

    The token server is the redirect's ``accounts-server`` if the code came with one, else the
    data centre's (or the override). Raises ``AuthError`` naming the reason (never the code).
    """
    age = grant.age(clock)
    if age > settings.GRANT_CODE_LIFETIME_SECONDS:
        raise AuthError(f"the authorization code is {age:.0f}s old; Zoho codes are single use and expire within "
                        f"{settings.GRANT_CODE_LIFETIME_SECONDS:.0f}s: open the consent URL again for a new one",
                        system=settings.SYSTEM)
    server = grant.accounts_server or settings.accounts_url(data_centre, accounts_url)
    allowed = {*settings.ACCOUNTS_URLS.values(), settings.accounts_url(data_centre, accounts_url)}
    if server not in allowed:  # the client secret goes only to a Zoho accounts server (or the configured one)
        raise AuthError(f"{server!r} is not a Zoho accounts server; set ZOHO_ACCOUNTS_URL if it is yours",
                        system=settings.SYSTEM)
    secret = reveal(client_secret)
    form = {"grant_type": "authorization_code", "code": grant.code.get_secret_value(), "client_id": client_id,
            "client_secret": secret, "redirect_uri": redirect_uri}
    hidden = (secret, grant.code.get_secret_value())
    try:
        with httpx.Client(transport=transport, timeout=timeout) as http:
            response = http.post(server + settings.TOKEN_PATH, data=form, headers={"Accept": "application/json"})
    except httpx.TransportError as error:
        raise TransportError(f"token exchange failed: {type(error).__name__}: {excerpt(str(error), hidden)}; "
                             "the code may be spent, get a new one", system=settings.SYSTEM) from None
    return _grant(response, hidden, data_centre)


def _grant(response: httpx.Response, hidden: tuple[str, ...], data_centre: str) -> Grant:
    try:
        body = decode_json(response.content)
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    refresh, access = body.get("refresh_token"), body.get("access_token")
    if response.status_code >= 400 or body.get("error") or not refresh or not access:
        reason = body.get("error") or ("no refresh_token (was access_type=offline asked?)" if access else
                                       response.reason_phrase)
        raise AuthError(f"code exchange refused: {excerpt(str(reason), hidden)}", system=settings.SYSTEM,
                        status=response.status_code, request=f"POST {settings.TOKEN_PATH}")
    domain = str(body.get("api_domain") or settings.API_DOMAINS.get(data_centre, "")).rstrip("/")
    return Grant(SecretStr(str(refresh)), domain, SecretStr(str(access)), float(body.get("expires_in") or 3600))
