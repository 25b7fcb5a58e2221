"""Zoho's accounts servers (reference §2): clients, users, grant codes, refresh and access tokens.

One `Accounts` holds every data centre; nothing crosses between them: a client's secret, a code,
a refresh token and an access token each belong to the data centre that issued them, so the
accounts server or Books API of another data centre does not know them.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sandbox.zoho_books.clock import Clock
from sandbox.zoho_books.errors import TOKEN_THROTTLE_MESSAGE, OAuthError

CODE_TTL = timedelta(minutes=2)          # the Books third-party reference's figure (§2)
TOKEN_TTL = timedelta(hours=1)
REFRESH_TOKENS_PER_USER = 20             # the 21st silently deletes the oldest
LIVE_ACCESS_TOKENS_PER_REFRESH = 30      # the 31st deletes the oldest live one
MINTS_PER_WINDOW, MINT_WINDOW = 10, timedelta(minutes=10)


@dataclass
class Client:
    client_id: str
    secrets: dict[str, str]              # data centre -> secret (multi-DC off: one secret per DC)
    redirect_uris: frozenset[str]


@dataclass
class User:
    user_id: str
    email: str
    dc: str


@dataclass
class Grant:
    code: str
    client_id: str
    user_id: str
    dc: str
    scope: str
    redirect_uri: str
    offline: bool
    expires_at: datetime
    used: bool = False


@dataclass
class RefreshToken:
    token: str
    client_id: str
    user_id: str
    dc: str
    scope: str
    created_at: datetime
    mints: deque[datetime] = field(default_factory=deque)
    live: deque[str] = field(default_factory=deque)


@dataclass
class AccessToken:
    token: str
    client_id: str
    user_id: str
    dc: str
    scope: str
    expires_at: datetime
    refresh: str | None = None


def _token() -> str:
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


class Accounts:
    """Every data centre's OAuth state. Thread-safe: the accounts and Books servers share it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.clients: dict[str, Client] = {}
        self.users: dict[str, User] = {}
        self.grants: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.user_refresh: dict[str, deque[str]] = {}
        self.issued = {"codes": 0, "access_tokens": 0, "refresh_tokens": 0, "refresh_tokens_revoked": 0}

    def register_client(self, client_id: str, secrets_by_dc: dict[str, str], redirect_uris: set[str]) -> Client:
        """A server-based client known in the data centres of `secrets_by_dc`."""
        client = Client(client_id, dict(secrets_by_dc), frozenset(redirect_uris))
        self.clients[client_id] = client
        return client

    def add_user(self, user_id: str, email: str, dc: str) -> User:
        """A Zoho user whose account lives in `dc`."""
        self.users[user_id] = User(user_id, email, dc)
        return self.users[user_id]

    def user_in(self, dc: str, who: str | None) -> User:
        """The user with this id or email in `dc` (the first one there when `who` is None)."""
        for user in self.users.values():
            if user.dc == dc and (who is None or who in (user.user_id, user.email)):
                return user
        raise OAuthError("invalid_user", status=400)

    def _client(self, dc: str, client_id: str | None, secret: str | None = None, *, check_secret: bool) -> Client:
        client = self.clients.get(client_id or "")
        if client is None or dc not in client.secrets:
            raise OAuthError("invalid_client", status=200 if check_secret else 400)
        if check_secret and not hmac.compare_digest((secret or "").encode(), client.secrets[dc].encode()):
            raise OAuthError("invalid_client")
        return client

    def grant(self, dc: str, client_id: str | None, scope: str | None, redirect_uri: str | None, *,
              access_type: str = "offline", user: str | None = None) -> Grant:
        """The user's consent: a single-use code valid for two minutes."""
        with self.lock:
            client = self._client(dc, client_id, check_secret=False)
            if not scope:
                raise OAuthError("invalid_scope", status=400)
            if redirect_uri not in client.redirect_uris:
                raise OAuthError("invalid_redirect_uri", status=400)
            who = self.user_in(dc, user)
            grant = Grant(f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}", client.client_id, who.user_id, dc,
                          scope, redirect_uri, access_type != "online", self.clock.now() + CODE_TTL)
            self.grants[grant.code] = grant
            self.issued["codes"] += 1
            return grant

    def exchange_code(self, dc: str, params: dict[str, str], api_domain: str) -> dict[str, object]:
        """`grant_type=authorization_code`: tokens for a fresh, unused code of this DC and client."""
        with self.lock:
            client = self._client(dc, params.get("client_id"), params.get("client_secret"), check_secret=True)
            grant = self.grants.get(params.get("code", ""))
            if (grant is None or grant.used or grant.dc != dc or grant.client_id != client.client_id
                    or self.clock.now() >= grant.expires_at):
                raise OAuthError("invalid_code")
            if params.get("redirect_uri") != grant.redirect_uri:
                raise OAuthError("invalid_redirect_uri")
            grant.used = True
            refresh = self._new_refresh(grant) if grant.offline else None
            access = self._new_access(client.client_id, grant.user_id, dc, grant.scope, refresh)
            body = self._token_body(access, api_domain)
            if refresh is not None:
                body = {"access_token": access.token, "refresh_token": refresh.token} | body
            return body

    def refresh(self, dc: str, params: dict[str, str], api_domain: str) -> dict[str, object]:
        """`grant_type=refresh_token`: a new access token; the refresh token is not rotated."""
        with self.lock:
            client = self._client(dc, params.get("client_id"), params.get("client_secret"), check_secret=True)
            refresh = self.refresh_tokens.get(params.get("refresh_token", ""))
            if refresh is None or refresh.dc != dc or refresh.client_id != client.client_id:
                raise OAuthError("invalid_code")
            now = self.clock.now()
            while refresh.mints and now - refresh.mints[0] >= MINT_WINDOW:
                refresh.mints.popleft()
            if len(refresh.mints) >= MINTS_PER_WINDOW:
                raise OAuthError("Access Denied", status=400, description=TOKEN_THROTTLE_MESSAGE)
            refresh.mints.append(now)
            access = self._new_access(client.client_id, refresh.user_id, dc, refresh.scope, refresh)
            return self._token_body(access, api_domain)

    def revoke(self, dc: str, token: str) -> None:
        """Delete a refresh token and every access token minted from it."""
        with self.lock:
            refresh = self.refresh_tokens.get(token)
            if refresh is None or refresh.dc != dc:
                raise OAuthError("invalid_token", status=400)
            self._drop_refresh(refresh)

    def _token_body(self, access: AccessToken, api_domain: str) -> dict[str, object]:
        return {"access_token": access.token, "scope": access.scope, "api_domain": api_domain,
                "token_type": "Bearer", "expires_in": int(TOKEN_TTL.total_seconds())}

    def _new_refresh(self, grant: Grant) -> RefreshToken:
        refresh = RefreshToken(_token(), grant.client_id, grant.user_id, grant.dc, grant.scope, self.clock.now())
        self.refresh_tokens[refresh.token] = refresh
        mine = self.user_refresh.setdefault(grant.user_id, deque())
        mine.append(refresh.token)
        while len(mine) > REFRESH_TOKENS_PER_USER:   # silently, as Zoho does
            self._drop_refresh(self.refresh_tokens[mine[0]])
        self.issued["refresh_tokens"] += 1
        return refresh

    def _drop_refresh(self, refresh: RefreshToken) -> None:
        self.refresh_tokens.pop(refresh.token, None)
        mine = self.user_refresh.get(refresh.user_id, deque())
        if refresh.token in mine:
            mine.remove(refresh.token)
        for token in refresh.live:
            self.access_tokens.pop(token, None)
        self.issued["refresh_tokens_revoked"] += 1

    def _new_access(self, client_id: str, user_id: str, dc: str, scope: str,
                    refresh: RefreshToken | None) -> AccessToken:
        access = AccessToken(_token(), client_id, user_id, dc, scope, self.clock.now() + TOKEN_TTL,
                             None if refresh is None else refresh.token)
        self.access_tokens[access.token] = access
        if refresh is not None:
            refresh.live.append(access.token)
            while len(refresh.live) > LIVE_ACCESS_TOKENS_PER_REFRESH:
                self.access_tokens.pop(refresh.live.popleft(), None)
        self.issued["access_tokens"] += 1
        return access

    def access(self, dc: str, token: str) -> AccessToken | None:
        """The live access token `token` of data centre `dc`, else None (unknown, expired, revoked, other DC)."""
        with self.lock:
            access = self.access_tokens.get(token)
            if access is None or access.dc != dc or self.clock.now() >= access.expires_at:
                return None
            return access

    def stats(self) -> dict[str, object]:
        """Counters and what is alive now."""
        with self.lock:
            now = self.clock.now()
            return {**self.issued, "refresh_tokens_alive": len(self.refresh_tokens),
                    "access_tokens_alive": sum(1 for a in self.access_tokens.values() if a.expires_at > now),
                    "refresh_tokens_by_user": {u: len(t) for u, t in self.user_refresh.items()}}
