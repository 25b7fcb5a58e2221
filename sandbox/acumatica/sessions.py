"""API sessions: cookie sign-in, OAuth 2.0 access tokens, and the licence's limit on API users.

Every open session (a cookie sign-in, or the session behind an OAuth grant) occupies one API-user
slot until it signs out or stays idle for `idle_timeout_seconds` (10 minutes in the sign-out topic of
the Integration Development Guide). A sign-in beyond `max_api_users` (licence) or beyond the user's
own `max_sessions_per_user` (Users form, SM201010) answers 500 `API Login Limit`.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox.acumatica import errors

Clock = Callable[[], datetime]


@dataclass
class Licence:
    """What the licence (License Monitoring Console, SM604000) and the Users form allow."""

    max_api_users: int = 3
    max_sessions_per_user: int | None = None
    requests_per_minute: int | None = 100
    concurrent_requests: int | None = None
    queue_limit: int = 20
    max_wait_seconds: float = 600.0
    window_seconds: float = 60.0
    idle_timeout_seconds: float = 600.0
    action_polls: int = 1
    action_seconds: float = 30.0

    def update(self, changes: dict[str, Any]) -> None:
        """Set fields from JSON values: seconds become floats, counts ints (None lifts a limit)."""
        for name, value in changes.items():
            if not hasattr(self, name):
                raise KeyError(name)
            is_seconds = name.endswith("_seconds")
            setattr(self, name, None if value is None else float(value) if is_seconds else int(value))


@dataclass
class Session:
    user: str
    tenant: str
    branch: str
    auth: str
    session_id: str
    opened: datetime
    last_seen: datetime
    via: str = "cookie"


@dataclass
class Token:
    access: str
    refresh: str | None
    user: str
    tenant: str
    scope: str
    expires: datetime
    grant: str
    concurrent: bool


@dataclass
class ConnectedApp:
    """A Connected Applications (SM303010) entry; `client_id` is `GUID@Tenant`."""

    client_id: str
    secret: str
    flows: tuple[str, ...] = ("password", "refresh_token")


@dataclass
class Counters:
    logins: int = 0
    logouts: int = 0
    login_failures: int = 0
    limit_refusals: int = 0
    expired: int = 0
    dropped: int = 0
    opened_total: int = 0
    tokens_issued: int = 0


def _hex(n: int) -> str:
    return secrets.token_hex(n).upper()


class SessionTable:
    """Users, branches, sessions and tokens of one instance."""

    def __init__(self, clock: Clock, licence: Licence, users: dict[str, str], tenants: dict[str, list[str]]) -> None:
        self.clock, self.licence = clock, licence
        self.users, self.tenants = dict(users), {t: list(b) for t, b in tenants.items()}
        self.apps: dict[str, ConnectedApp] = {}
        self.sessions: dict[str, Session] = {}
        self.tokens: dict[str, Token] = {}
        self.grant_sessions: dict[str, str] = {}
        self.counters = Counters()

    # -- sign-in -------------------------------------------------------------------------------

    def check_credentials(self, name: str, password: str, tenant: str | None) -> str:
        """The tenant signed into, or the error the sign-in answers."""
        if tenant is None:
            if len(self.tenants) != 1:
                raise errors.server_error(errors.UNDEFINED_COMPANY, errors.UNDEFINED_COMPANY_TYPE)
            tenant = next(iter(self.tenants))
        if tenant not in self.tenants:
            raise errors.server_error(errors.UNDEFINED_COMPANY, errors.UNDEFINED_COMPANY_TYPE)
        known = self.users.get(name)
        if known is None or not secrets.compare_digest(known.encode(), password.encode()):
            raise errors.server_error(errors.INVALID_CREDENTIALS)
        return tenant

    def login(self, name: str, password: str, tenant: str | None, branch: str | None, via: str = "cookie") -> Session:
        try:
            tenant = self.check_credentials(name, password, tenant)
            branches = self.tenants[tenant]
            if branch is not None and branch not in branches:
                raise errors.server_error(f"[sandbox] The branch '{branch}' cannot be found in the system.")
            return self.open(name, tenant, branch or branches[0], via)
        except errors.AcumaticaError:
            self.counters.login_failures += 1
            raise

    def open(self, user: str, tenant: str, branch: str, via: str) -> Session:
        self.reap()
        mine = sum(1 for s in self.sessions.values() if s.user == user)
        per_user = self.licence.max_sessions_per_user
        if len(self.sessions) >= self.licence.max_api_users or (per_user is not None and mine >= per_user):
            self.counters.limit_refusals += 1
            raise errors.server_error(errors.LOGIN_LIMIT)
        now = self.clock()
        session_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(24))
        session = Session(user, tenant, branch, _hex(64), session_id, now, now, via)
        self.sessions[session.auth] = session
        self.counters.logins += 1
        self.counters.opened_total += 1
        return session

    # -- use -----------------------------------------------------------------------------------

    def reap(self) -> None:
        """Close sessions idle longer than the timeout."""
        limit = timedelta(seconds=self.licence.idle_timeout_seconds)
        now = self.clock()
        for key in [k for k, s in self.sessions.items() if now - s.last_seen > limit]:
            del self.sessions[key]
            self.counters.expired += 1

    def by_cookie(self, auth: str | None) -> Session | None:
        self.reap()
        session = self.sessions.get(auth or "")
        if session is not None:
            session.last_seen = self.clock()
        return session

    def by_bearer(self, access: str) -> Session:
        """The session behind an access token, opened on first use (one per grant without
        `api:concurrent_access`)."""
        token = self.tokens.get(access)
        if token is None or token.expires <= self.clock():
            raise errors.not_logged_in()
        self.reap()
        key = token.access if token.concurrent else token.grant
        session = self.sessions.get(self.grant_sessions.get(key, ""))
        if session is None:
            session = self.open(token.user, token.tenant, self.tenants[token.tenant][0], "oauth")
            self.grant_sessions[key] = session.auth
        session.last_seen = self.clock()
        return session

    def logout(self, session: Session | None) -> None:
        if session is not None and self.sessions.pop(session.auth, None) is not None:
            self.counters.logouts += 1

    def drop(self, user: str | None = None) -> int:
        """Forget sessions as if they had timed out (all, or one user's)."""
        keys = [k for k, s in self.sessions.items() if user is None or s.user == user]
        for key in keys:
            del self.sessions[key]
        self.counters.dropped += len(keys)
        return len(keys)

    # -- OAuth 2.0 -----------------------------------------------------------------------------

    def issue(self, form: dict[str, str]) -> Token:
        """`/identity/connect/token` (form fields); OAuth errors as `ValueError(error_code)`."""
        app = self.apps.get(form.get("client_id", ""))
        if app is None or not secrets.compare_digest(app.secret.encode(), form.get("client_secret", "").encode()):
            raise ValueError("invalid_client")
        grant_type = form.get("grant_type", "")
        if grant_type not in app.flows:
            raise ValueError("unsupported_grant_type")
        tenant = app.client_id.partition("@")[2] or next(iter(self.tenants))
        if grant_type == "password":
            try:
                self.check_credentials(form.get("username", ""), form.get("password", ""), tenant)
            except errors.AcumaticaError:
                raise ValueError("invalid_grant") from None
            scope = form.get("scope", "api")
            return self._token(form["username"], tenant, scope, grant=_hex(16))
        old = next((t for t in self.tokens.values() if t.refresh and t.refresh == form.get("refresh_token")), None)
        if old is None:
            raise ValueError("invalid_grant")
        old.refresh = None  # refresh tokens rotate on use
        return self._token(old.user, old.tenant, old.scope, grant=old.grant)

    def _token(self, user: str, tenant: str, scope: str, grant: str) -> Token:
        scopes = scope.split()
        token = Token(_hex(32), _hex(32) if "offline_access" in scopes else None, user, tenant, scope,
                      self.clock() + timedelta(seconds=3600), grant, "api:concurrent_access" in scopes)
        self.tokens[token.access] = token
        self.counters.tokens_issued += 1
        return token


@dataclass
class Cookies:
    """The cookies a cookie sign-in sets (names as seen on real instances)."""

    session: Session
    branch_number: int
    values: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.values = {"ASP.NET_SessionId": self.session.session_id, ".ASPXAUTH": self.session.auth,
                       "UserBranch": str(self.branch_number), "Locale": "Culture=en-US",
                       "CompanyID": self.session.tenant}
