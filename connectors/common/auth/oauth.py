"""OAuth 2.0 as httpx ``Auth`` objects: a cached access token, renewed early, refreshed once on a 401.

- :class:`OAuth2ClientCredentials`: ``grant_type=client_credentials`` with HTTP Basic client auth
  (Walmart ``POST /v3/token``: 15-minute tokens, extra ``WM_*`` headers on the token call);
- :class:`OAuth2RefreshToken`: ``grant_type=refresh_token`` (Zoho: 1-hour tokens, ``api_domain`` in
  the reply names the data centre's API host; a rotated refresh token is handed to ``on_token``).

One lock per object: concurrent callers wait for the one token request in flight instead of each
sending their own. With a ``cache`` (:class:`connectors.common.auth.cache.TokenCache`) the token is
shared with every other process using the same cache: the refresh happens under the cache's lock and
a process that finds a fresh token there adopts it, so there is one token request per expiry window
however many processes ask at once; a 401 discards the shared token only if it is still the one refused.
The header is configurable (``WM_SEC.ACCESS_TOKEN: {token}``,
``Authorization: Zoho-oauthtoken {token}``). Secrets and tokens appear in no repr, log or error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any, Literal

import httpx
from pydantic import SecretStr

from connectors.common.auth.cache import CachedToken, TokenCache, cache_key
from connectors.common.auth.static import Secret, basic_token, reveal, sha256_fingerprint
from connectors.common.errors import AuthError, BadRequest, ServerError, TransportError, excerpt
from connectors.common.http import classify_response, decode_json, default_tls, response_text

log = logging.getLogger(__name__)

Clock = Callable[[], float]
ExtraHeaders = Mapping[str, str] | Callable[[], Mapping[str, str]] | None
TokenCallback = Callable[[dict[str, Any]], None]


class _TokenAuth(httpx.Auth):
    """Token cache, lock, 401 handling and the token POST; subclasses build the grant."""

    requires_request_body = True  # a request re-sent after a 401 must still have its body

    def __init__(self, token_url: str, client_id: Secret, client_secret: Secret, *, header_name: str,
                 header_format: str, extra_headers: ExtraHeaders, timeout: float,
                 transport: httpx.BaseTransport | None, clock: Clock, system: str,
                 cache: TokenCache | None = None, wall: Clock = time.time) -> None:
        cid, secret = reveal(client_id), reveal(client_secret)
        if not cid or not secret:
            raise AuthError("OAuth client_id and client_secret are both required", system=system)
        self.token_url, self.system = token_url, system
        self.header_name, self.header_format = header_name, header_format
        self._client_id, self._client_secret = SecretStr(cid), SecretStr(secret)
        self._extra_headers = extra_headers
        self._http = httpx.Client(timeout=timeout, transport=transport, verify=default_tls())
        self._clock = clock
        self._lock = threading.Lock()
        self._token: SecretStr | None = None
        self._renew_at = 0.0
        self.fingerprint = sha256_fingerprint(cid, secret)
        self.token_requests = 0
        self._cache, self._wall = cache, wall
        self.cache_key = cache_key(token_url, self.fingerprint)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token_url={self.token_url!r}, client=sha256:{self.fingerprint[:12]})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Attach the token; on a 401 drop it, fetch a fresh one and re-send once."""
        token = self.token()
        request.headers[self.header_name] = self.header_format.format(token=token)
        response = yield request
        if response.status_code == 401:
            self.invalidate(token)
            request.headers[self.header_name] = self.header_format.format(token=self.token())
            yield request

    def token(self) -> str:
        """The current access token, fetched first if there is none or it is due for renewal."""
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                if self._cache is None:
                    self._fetch()
                else:
                    with self._cache.lock(self.cache_key):
                        self._fetch_shared(self._cache)
            assert self._token is not None
            return self._token.get_secret_value()

    def _fetch(self) -> float:
        """Ask for a new token and keep it; its lifetime in seconds."""
        body = self._request_token()
        life = self._lifetime(body)
        self._token = SecretStr(str(body["access_token"]))
        self._renew_at = self._clock() + life
        return life

    def _fetch_shared(self, cache: TokenCache) -> None:
        """Adopt the shared token if another process already renewed it, else fetch one and share it."""
        shared = cache.get(self.cache_key)
        now = self._wall()
        if shared is not None and shared.fresh(now):
            self._token = shared.access_token
            self._renew_at = self._clock() + (shared.renew_at - now)
            self._adopt(shared.extra)
            return
        life = self._fetch()
        assert self._token is not None
        cache.put(self.cache_key, CachedToken(self._token, now + life, self._shared_extra()))

    def _adopt(self, extra: Mapping[str, Any]) -> None:
        """Take what a subclass keeps from a token reply (e.g. Zoho's api_domain) from a shared token."""

    def _shared_extra(self) -> dict[str, Any]:
        return {}

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (only if it is still ``token``, so parallel 401s refresh once)."""
        with self._lock:
            if self._token is not None and (token is None or self._token.get_secret_value() == token):
                if self._cache is not None:
                    with self._cache.lock(self.cache_key):
                        self._cache.discard(self.cache_key, self._token.get_secret_value())
                self._token = None

    def close(self) -> None:
        """Close the token endpoint's connection pool."""
        self._http.close()

    def redaction_values(self) -> tuple[str, ...]:
        """Strings that must never appear in an error or log line."""
        cid, secret = self._client_id.get_secret_value(), self._client_secret.get_secret_value()
        token = self._token.get_secret_value() if self._token else ""
        return tuple(v for v in (secret, basic_token(cid, secret), token, *self._more_secrets()) if v)

    def _more_secrets(self) -> tuple[str, ...]:
        return ()

    def _request_token(self) -> dict[str, Any]:
        raise NotImplementedError

    def _lifetime(self, body: Mapping[str, Any]) -> float:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        extra = self._extra_headers() if callable(self._extra_headers) else (self._extra_headers or {})
        return {"Accept": "application/json", **extra}

    def _post_token(self, form: dict[str, str], *, basic: bool) -> dict[str, Any]:
        """POST the grant (form-encoded); return the JSON reply, which must carry an ``access_token``."""
        self.token_requests += 1
        auth = (self._client_id.get_secret_value(), self._client_secret.get_secret_value()) if basic else None
        secrets = self.redaction_values()
        where = f"POST {httpx.URL(self.token_url).path}"
        try:
            response = self._http.post(self.token_url, data=form, headers=self._headers(), auth=auth)
        except httpx.TransportError as error:
            message = f"token request failed: {type(error).__name__}: {excerpt(str(error), secrets)}"
            raise TransportError(message, system=self.system, request=where) from None
        try:
            classify_response(response, system=self.system, secrets=secrets)
        except BadRequest as error:  # OAuth answers 400 invalid_client / invalid_grant for bad credentials
            raise AuthError(error.message, system=self.system, status=error.status, excerpt=error.excerpt,
                            request=where) from None
        return self._token_body(response, secrets, where)

    def _token_body(self, response: httpx.Response, secrets: tuple[str, ...], where: str) -> dict[str, Any]:
        try:
            body = decode_json(response.content)
        except ValueError:
            raise ServerError("token response is not JSON", system=self.system, status=response.status_code,
                              excerpt=excerpt(response_text(response), secrets), request=where) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            reason = body.get("error") if isinstance(body, dict) else None
            raise AuthError(f"token response carries no access_token ({excerpt(str(reason), secrets)})",
                            system=self.system, status=response.status_code, request=where)
        log.info("%s: new access token from %s", self.system, where)
        return body


def _seconds(value: Any, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except (TypeError, ValueError):
        return default


class OAuth2ClientCredentials(_TokenAuth):
    """Client-credentials grant: HTTP Basic ``client_id:client_secret``, form ``grant_type=client_credentials``.

    The token is renewed ``expiry_margin`` seconds before ``expires_in`` runs out (never sooner than
    half its life) or after a 401. ``extra_headers`` (a mapping, or a callable for per-call values such
    as Walmart's ``WM_QOS.CORRELATION_ID``) go on the token request only.
    """

    def __init__(self, token_url: str, client_id: Secret, client_secret: Secret, *, scope: str | None = None,
                 header_name: str = "Authorization", header_format: str = "Bearer {token}",
                 extra_headers: ExtraHeaders = None, expiry_margin: float = 60.0, default_expires_in: float = 900.0,
                 timeout: float = 30.0, transport: httpx.BaseTransport | None = None, clock: Clock = time.monotonic,
                 system: str = "oauth2", cache: TokenCache | None = None, wall: Clock = time.time) -> None:
        super().__init__(token_url, client_id, client_secret, header_name=header_name, header_format=header_format,
                         extra_headers=extra_headers, timeout=timeout, transport=transport, clock=clock, system=system,
                         cache=cache, wall=wall)
        self.scope = scope
        self.expiry_margin = expiry_margin
        self.default_expires_in = default_expires_in

    def _request_token(self) -> dict[str, Any]:
        form = {"grant_type": "client_credentials"} | ({"scope": self.scope} if self.scope else {})
        return self._post_token(form, basic=True)

    def _lifetime(self, body: Mapping[str, Any]) -> float:
        life = _seconds(body.get("expires_in"), self.default_expires_in)
        return max(life - self.expiry_margin, life / 2)


class OAuth2RefreshToken(_TokenAuth):
    """Refresh-token grant; renews after ``refresh_after`` seconds (or sooner if ``expires_in`` says so) or a 401.

    ``client_auth="body"`` sends ``client_id``/``client_secret`` in the form (Zoho), ``"basic"`` as HTTP
    Basic. Every token reply goes to ``on_token`` (it may carry a rotated ``refresh_token`` the product
    must store, and Zoho's ``api_domain``); :attr:`api_domain` keeps the latest one for rebasing a client.
    """

    def __init__(self, token_url: str, client_id: Secret, client_secret: Secret, refresh_token: Secret, *,
                 refresh_after: float = 55 * 60.0, on_token: TokenCallback | None = None,
                 client_auth: Literal["body", "basic"] = "body", header_name: str = "Authorization",
                 header_format: str = "Bearer {token}", extra_headers: ExtraHeaders = None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None, clock: Clock = time.monotonic,
                 system: str = "oauth2", cache: TokenCache | None = None, wall: Clock = time.time) -> None:
        super().__init__(token_url, client_id, client_secret, header_name=header_name, header_format=header_format,
                         extra_headers=extra_headers, timeout=timeout, transport=transport, clock=clock, system=system,
                         cache=cache, wall=wall)
        refresh = reveal(refresh_token)
        if not refresh:
            raise AuthError("an OAuth refresh_token is required", system=system)
        self._refresh_token = SecretStr(refresh)
        self.refresh_after = refresh_after
        self.client_auth = client_auth
        self.on_token = on_token
        self.api_domain: str | None = None

    @property
    def api_base_url(self) -> str | None:
        """The API host the last token reply named (Zoho ``api_domain``), or ``None``."""
        return self.api_domain

    def _more_secrets(self) -> tuple[str, ...]:
        return (self._refresh_token.get_secret_value(),)

    def _adopt(self, extra: Mapping[str, Any]) -> None:
        if isinstance(extra.get("api_domain"), str) and extra["api_domain"]:
            self.api_domain = extra["api_domain"]

    def _shared_extra(self) -> dict[str, Any]:
        return {"api_domain": self.api_domain} if self.api_domain else {}

    def _request_token(self) -> dict[str, Any]:
        form = {"grant_type": "refresh_token", "refresh_token": self._refresh_token.get_secret_value()}
        if self.client_auth == "body":
            form |= {"client_id": self._client_id.get_secret_value(),
                     "client_secret": self._client_secret.get_secret_value()}
        body = self._post_token(form, basic=self.client_auth == "basic")
        if isinstance(body.get("refresh_token"), str) and body["refresh_token"]:
            self._refresh_token = SecretStr(body["refresh_token"])
        if isinstance(body.get("api_domain"), str) and body["api_domain"]:
            self.api_domain = body["api_domain"].rstrip("/")
        if self.on_token is not None:
            self.on_token(dict(body))
        return body

    def _lifetime(self, body: Mapping[str, Any]) -> float:
        life = _seconds(body.get("expires_in"), self.refresh_after)
        return min(self.refresh_after, max(life - 60.0, life / 2))
