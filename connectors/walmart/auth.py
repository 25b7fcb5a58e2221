"""Walmart's per-call headers around the common OAuth 2.0 client-credentials auth (reference §2).

Every call (the token request too) carries a fresh ``WM_QOS.CORRELATION_ID`` and ``WM_SVC.NAME``;
business calls carry the token in ``WM_SEC.ACCESS_TOKEN`` (never ``Authorization``). Token caching,
early renewal, the single token request shared by concurrent callers and the refresh on a 401 are
:class:`connectors.common.auth.OAuth2ClientCredentials`'. With a ``token_cache`` (production:
``state.token_cache.FileTokenCache``) that single request is shared by every process, not only threads.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator

import httpx

from connectors.common.auth import OAuth2ClientCredentials, TokenCache
from connectors.common.auth.static import Secret
from connectors.walmart import settings

Clock = Callable[[], float]


def correlation_id() -> str:
    """A fresh random GUID (§2: one per request, quoted to Walmart support)."""
    return str(uuid.uuid4())


class WalmartAuth(httpx.Auth):
    """Adds the ``WM_*`` headers to each request, then lets the token auth attach the token."""

    requires_request_body = True

    def __init__(self, base_url: str, client_id: Secret, client_secret: Secret, *, svc_name: str,
                 channel_type: str = "", timeout: float = settings.TIMEOUT_SECONDS,
                 transport: httpx.BaseTransport | None = None, clock: Clock | None = None,
                 new_id: Callable[[], str] = correlation_id, token_cache: TokenCache | None = None) -> None:
        self.svc_name, self.channel_type, self.new_id = svc_name, channel_type, new_id
        extra = {"clock": clock} if clock is not None else {}
        self.token_auth = OAuth2ClientCredentials(
            base_url.rstrip("/") + settings.TOKEN_PATH, client_id, client_secret,
            header_name=settings.HEADER_TOKEN, header_format="{token}", extra_headers=self.headers,
            expiry_margin=settings.TOKEN_RENEW_MARGIN, default_expires_in=settings.TOKEN_EXPIRES_IN,
            timeout=timeout, transport=transport, system=settings.SYSTEM, cache=token_cache, **extra)
        self.fingerprint = self.token_auth.fingerprint

    def __repr__(self) -> str:
        return f"WalmartAuth(client=sha256:{self.fingerprint[:12]})"

    @property
    def token_requests(self) -> int:
        return self.token_auth.token_requests

    def headers(self) -> dict[str, str]:
        """The ``WM_*`` headers one request carries, with a new correlation id."""
        out = {settings.HEADER_SERVICE: self.svc_name, settings.HEADER_CORRELATION: self.new_id()}
        if self.channel_type:
            out[settings.HEADER_CHANNEL] = self.channel_type
        return out

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The token auth's flow, each request it sends (a re-send after a 401 too) with a new correlation id."""
        request.headers.update(self.headers())
        flow = self.token_auth.auth_flow(request)
        outgoing = next(flow)
        while True:
            response = yield outgoing
            try:
                outgoing = flow.send(response)
            except StopIteration:
                return
            outgoing.headers[settings.HEADER_CORRELATION] = self.new_id()

    def redaction_values(self) -> tuple[str, ...]:
        return self.token_auth.redaction_values()

    def close(self) -> None:
        self.token_auth.close()
