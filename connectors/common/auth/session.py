"""A cookie session as an httpx ``Auth``: log in on first use, re-log in once on a 401, always log out.

Acumatica (reference §2): ``POST /entity/auth/login`` with ``{"name", "password", "tenant", "branch"}``
answers 204 with session cookies; ``POST /entity/auth/logout`` ends it. An unclosed session holds one of
the user's few API-login slots for 10–20 minutes, so :meth:`CookieSession.close` (also the context
manager's exit, and ``BaseClient.close``) logs out even when the run failed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator, Mapping, Sequence
from typing import Any

import httpx

from connectors.common.auth.static import sha256_fingerprint
from connectors.common.errors import AuthError, BadRequest, ConnectorError, TransportError, excerpt
from connectors.common.http import classify_response, default_tls

log = logging.getLogger(__name__)


class CookieSession(httpx.Auth):
    """Logs in with ``credentials`` (a JSON body) on the first request and sends its cookies on every request.

    ``secret_fields`` names the credential fields that are secrets (redacted everywhere, as are the
    session cookies). A 401 means the session expired: log in again and re-send once.
    """

    requires_request_body = True

    def __init__(self, base_url: str, credentials: Mapping[str, Any], *, login_path: str = "/entity/auth/login",
                 logout_path: str = "/entity/auth/logout", secret_fields: Sequence[str] = ("password",),
                 timeout: float = 30.0, transport: httpx.BaseTransport | None = None,
                 system: str = "connector") -> None:
        self.base_url = base_url.rstrip("/")
        self.login_path, self.logout_path, self.system = login_path, logout_path, system
        self._credentials = dict(credentials)
        self._secrets = tuple(str(self._credentials[f]) for f in secret_fields if self._credentials.get(f))
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport, verify=default_tls())
        self._lock = threading.Lock()
        self._cookies = httpx.Cookies()
        self._generation = 0  # bumps on every login, so parallel 401s log in once
        self.logged_in = False
        self.logins = 0
        self.fingerprint = sha256_fingerprint(self.base_url, str(self._credentials.get("name", "")))

    def __repr__(self) -> str:
        return f"CookieSession(base_url={self.base_url!r}, user=sha256:{self.fingerprint[:12]})"

    def __enter__(self) -> CookieSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send the session cookies; keep any the server sets; on a 401 log in again and re-send once."""
        generation = self._ensure_login()
        self._apply(request)
        response = yield request
        self._keep(response)
        if response.status_code == 401:
            self._relogin(generation)
            self._apply(request)
            response = yield request
            self._keep(response)

    def redaction_values(self) -> tuple[str, ...]:
        """Strings that must never appear in an error or log line: secret credentials and cookie values."""
        return self._secrets + tuple(v for v in self._cookies.values() if v)

    def login(self) -> None:
        """Log in now (normally the first request does it)."""
        with self._lock:
            self._login_locked()

    def close(self) -> None:
        """Log out if logged in (errors are logged, never raised), then close the connection pool."""
        with self._lock:
            try:
                if self.logged_in:
                    self._logout_locked()
            finally:
                self.logged_in = False
                self._cookies.clear()
                self._http.close()

    def _ensure_login(self) -> int:
        with self._lock:
            if not self.logged_in:
                self._login_locked()
            return self._generation

    def _relogin(self, generation: int) -> None:
        with self._lock:
            if self._generation == generation:
                self._login_locked()

    def _apply(self, request: httpx.Request) -> None:
        with self._lock:
            request.headers.pop("Cookie", None)
            self._cookies.set_cookie_header(request)

    def _keep(self, response: httpx.Response) -> None:
        with self._lock:
            self._cookies.extract_cookies(response)

    def _login_locked(self) -> None:
        self._cookies.clear()
        self.logins += 1
        response = self._post(self.login_path, self._credentials)
        try:
            classify_response(response, system=self.system, secrets=self.redaction_values())
        except BadRequest as error:
            raise AuthError(error.message, system=self.system, status=error.status, excerpt=error.excerpt,
                            request=error.request) from None
        self._cookies.extract_cookies(response)
        self._generation += 1
        self.logged_in = True
        log.info("%s: logged in to %s", self.system, self.base_url)

    def _logout_locked(self) -> None:
        try:
            response = self._post(self.logout_path, None, cookies=True)
            classify_response(response, system=self.system, secrets=self.redaction_values())
            log.info("%s: logged out of %s", self.system, self.base_url)
        except ConnectorError as error:
            log.warning("%s: logout failed: %s", self.system, error)

    def _post(self, path: str, body: Any, *, cookies: bool = False) -> httpx.Response:
        request = self._http.build_request("POST", path, json=body)
        if cookies:
            self._cookies.set_cookie_header(request)
        try:
            return self._http.send(request)
        except httpx.TransportError as error:
            message = f"{type(error).__name__}: {excerpt(str(error), self.redaction_values())}"
            raise TransportError(message, system=self.system, request=f"POST {path}") from None
