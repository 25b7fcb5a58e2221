"""Typed client for the Acumatica contract-based REST API (reference: /work/shared/reference/acumatica.md).

HTTP only: no Dagster, no storage. Records go out and come back as plain dicts: the value-object
wrapping (§4) happens here, at the boundary (``codec``). Every entity URL is
``<instance>/entity/<EndpointName>/<EndpointVersion>/<Entity>``; a 404 there is checked against
``GET /entity`` once, so a wrong version is reported as such, naming the versions the instance offers.

Sign-in is a cookie session that always logs out (``close()``, the context manager's exit, also after
a failure: a leaked session holds one of the user's few API-login slots, §2) or OAuth 2.0.
Retries go through ``connectors.common.retry`` (429 with backoff and jitter; §3: no Retry-After is
documented, so a 429 waits a minute). Writes that may create a record (a PUT without keys, an action)
are retried only after a 429, which the server refused before doing anything.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from connectors.acumatica import codec, odata, settings
from connectors.acumatica.auth import AcumaticaPasswordGrant, cookie_session
from connectors.acumatica.errors import EndpointVersionNotFound, describe, no_entity
from connectors.common.errors import (
    ConnectorError,
    NotFound,
    RateLimited,
    RetryableError,
    ServerError,
    TransportError,
    excerpt,
)
from connectors.common.http import BaseClient, Params, classify_response, decode_json, response_text
from connectors.common.retry import RetryOn, RetryPolicy

log = logging.getLogger(__name__)

Record = dict[str, Any]
Clock = Callable[[], float]


class AcumaticaClient(BaseClient):
    """Acumatica client for one instance, endpoint version, tenant and branch.

    ``password`` and ``client_secret`` may be ``SecretStr``. With ``client_id`` set it signs in with
    OAuth 2.0, else with a cookie session. ``sleep``/``clock`` drive retries and action polling.
    """

    system = settings.SYSTEM

    def __init__(self, *, url: str, endpoint_version: str = settings.DEFAULT_ENDPOINT_VERSION,
                 endpoint_name: str = settings.ENDPOINT_NAME, tenant: str = "", branch: str = "",
                 username: str = "", password: str | SecretStr = "", client_id: str = "",
                 client_secret: str | SecretStr = "", timeout: float = settings.TIMEOUT_SECONDS,
                 transport: httpx.BaseTransport | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Clock = time.monotonic, rng: Callable[[], float] = random.random,
                 max_retries: int = settings.MAX_RETRIES, page_size: int = settings.PAGE_SIZE,
                 poll_seconds: float = settings.ACTION_POLL_SECONDS,
                 action_timeout: float = settings.ACTION_TIMEOUT_SECONDS) -> None:
        if not url:
            raise ValueError("ACUMATICA_URL is required (the instance URL, virtual directory included)")
        base = url.rstrip("/")
        if client_id:
            auth: httpx.Auth = AcumaticaPasswordGrant(base, client_id=client_id, client_secret=client_secret,
                                                      username=username, password=password, timeout=timeout,
                                                      transport=transport)
        else:
            auth = cookie_session(base, username=username, password=password, tenant=tenant, branch=branch,
                                  timeout=timeout, transport=transport)
        self.auth = auth
        self.endpoint = f"{endpoint_name}/{endpoint_version}"
        self.entity_path = f"{settings.ENTITY_ROOT}/{endpoint_name}/{endpoint_version}"
        self.page_size = odata.page_size(page_size)
        self.poll_seconds, self.action_timeout, self._clock = poll_seconds, action_timeout, clock
        self._offered: list[str] | None = None
        self.requests = 0
        super().__init__(base_url=base, auth=auth, timeout=timeout, transport=transport,
                         headers={"Accept": "application/json"},
                         retry=RetryPolicy(max_retries + 1, settings.BACKOFF_BASE_SECONDS,
                                           settings.BACKOFF_MAX_SECONDS),
                         secrets=auth.redaction_values(), sleep=sleep, rng=rng)

    def __repr__(self) -> str:
        return f"AcumaticaClient(base_url={self.base_url!r}, endpoint={self.endpoint!r})"

    def __enter__(self) -> AcumaticaClient:
        return self

    def close(self) -> None:
        """Sign out (a bearer token's session too: it holds an API-user slot like a cookie one), then close."""
        try:
            if isinstance(self.auth, AcumaticaPasswordGrant) and self.auth.signed_in:
                self._sign_out_bearer()
        finally:
            super().close()

    def _sign_out_bearer(self) -> None:
        try:
            response = self._http.post(settings.LOGOUT_PATH)
            if response.status_code >= 400:
                log.warning("acumatica: sign-out answered HTTP %s", response.status_code)
        except httpx.TransportError as error:
            log.warning("acumatica: sign-out failed: %s", type(error).__name__)

    @property
    def sessions_opened(self) -> int:
        """Cookie logins so far (0 with OAuth)."""
        return int(getattr(self.auth, "logins", 0))

    # -- reading --------------------------------------------------------------------------------

    def get(self, entity: str, *keys: str, expand: Sequence[str] = (), select: Sequence[str] = ()) -> Record:
        """One record by its keys in the URL, in the form's key order (§5), as plain values."""
        return codec.unwrap(self.request_json("GET", self.url(entity, *keys), params=odata.query(expand, select)))

    def iter_pages(self, entity: str, *, filter: str | None = None, expand: Sequence[str] = (),
                   select: Sequence[str] = (), page_size: int | None = None) -> Iterator[list[Record]]:
        """Every matching record, a page at a time (``$skip``/``$top``; a short page ends the list, §5)."""
        size, skip = odata.page_size(page_size or self.page_size), 0
        while True:
            params = {**odata.query(expand, select), "$filter": filter, "$top": size, "$skip": skip}
            page = self.request_json("GET", self.url(entity), params=params)
            if not isinstance(page, list):
                raise ServerError(f"expected a list of {entity} records", system=self.system,
                                  request=f"GET {self.url(entity)}")
            if page:
                yield [codec.unwrap(record) for record in page]
            if len(page) < size:
                return
            skip += size

    def iter_modified(self, entity: str, since: datetime, until: datetime | None = None, *,
                      expand: Sequence[str] = (), extra_filter: str | None = None,
                      page_size: int | None = None) -> Iterator[list[Record]]:
        """Records whose last-modified field (per entity, ``settings.LAST_MODIFIED``) is in ``[since, until]``."""
        field = settings.LAST_MODIFIED.get(entity, "LastModifiedDateTime")
        clauses = [f"{field} ge {odata.odata_instant(since)}"]
        clauses += [f"{field} le {odata.odata_instant(until)}"] if until else []
        clauses += [f"({extra_filter})"] if extra_filter else []
        return self.iter_pages(entity, filter=" and ".join(clauses), expand=expand, page_size=page_size)

    # -- writing --------------------------------------------------------------------------------

    def put(self, entity: str, record: Mapping[str, Any], *, expand: Sequence[str] = (), insert_only: bool = False,
            update_only: bool = False, idempotent: bool = True) -> Record:
        """Create or update (§6): matched by ``id`` or key fields in the body; returns the record as saved.

        ``insert_only`` sends ``If-None-Match: *``, ``update_only`` ``If-Match: *`` (412 when violated).
        A PUT that may create (no keys in the body) must say ``idempotent=False``: it is then retried
        only after a 429, never after a timeout or 5xx that may have created it.
        """
        headers = {"If-None-Match": "*"} if insert_only else {"If-Match": "*"} if update_only else {}
        retry_on: RetryOn = RetryableError if idempotent else RateLimited
        body = codec.wrap(record)
        return codec.unwrap(self.request_json("PUT", self.url(entity), params=odata.query(expand, ()), json=body,
                                              retry_on=retry_on, headers=headers))

    def delete(self, entity: str, *keys: str) -> None:
        """Remove a top-level record by its keys (§6)."""
        self.request_json("DELETE", self.url(entity, *keys))

    def invoke(self, entity: str, action: str, keys: Mapping[str, Any], parameters: Mapping[str, Any] | None = None,
               ) -> None:
        """Run an action (§8) and wait for it: 204 = done; 202 = poll ``Location`` until 204."""
        body = {"entity": codec.wrap(keys), "parameters": codec.wrap(parameters or {})}
        path = self.url(entity, action)
        response = self.retryer(RateLimited)(self._exchange_response, "POST", path, None, body, {})
        if response.status_code == 202:
            self._wait_for(response.headers.get("Location"), f"{entity}/{action}")

    def _wait_for(self, location: str | None, what: str) -> None:
        if not location:
            raise ServerError(f"{what} answered 202 without a Location to poll", system=self.system)
        path, deadline = self._relative(location), self._clock() + self.action_timeout
        while True:
            response = self.retryer()(self._exchange_response, "GET", path, None, None, {})
            if response.status_code != 202:
                return
            if self._clock() >= deadline:
                raise ServerError(f"{what} still running after {self.action_timeout:.0f} s", system=self.system,
                                  request=f"GET {path}")
            self._sleep(self.poll_seconds)

    # -- endpoint versions and health ------------------------------------------------------------

    def endpoint_versions(self) -> list[str]:
        """``name/version`` of every endpoint the instance offers (``GET /entity``, §1)."""
        if self._offered is None:
            body = self.request_json("GET", settings.ENTITY_ROOT)
            endpoints = body.get("endpoints") if isinstance(body, Mapping) else None
            self._offered = [f"{e.get('name')}/{e.get('version')}" for e in endpoints or [] if isinstance(e, Mapping)]
        return list(self._offered)

    def ping(self) -> dict[str, Any]:
        """Sign in, list the endpoint versions, say whether ours is one: ``{"ok", "versions", ...}``; never raises."""
        result: dict[str, Any] = {"system": self.system, "base_url": self.base_url, "endpoint": self.endpoint}
        try:
            versions = self.endpoint_versions()
        except ConnectorError as error:
            return result | {"ok": False, "status": error.status, "error": type(error).__name__, "message": str(error)}
        ok = self.endpoint in versions
        message = None if ok else f"endpoint {self.endpoint} is not offered; the instance offers {', '.join(versions)}"
        return result | {"ok": ok, "versions": versions, "message": message}

    # -- transport ------------------------------------------------------------------------------

    def url(self, entity: str, *keys: str) -> str:
        """The entity URL path, keys escaped."""
        return "/".join([self.entity_path, entity, *(quote(str(k), safe="") for k in keys)])

    def request_json(self, method: str, path: str, *, params: Params | None = None, json: Any = None,
                     retry_on: RetryOn = RetryableError, headers: Mapping[str, str] | None = None) -> Any:
        """One logical request, retried per policy for what ``retry_on`` admits; the decoded JSON body or None."""
        response = self.retryer(retry_on)(self._exchange_response, method, path, params, json, headers or {})
        if not response.content:
            return None
        try:
            return decode_json(response.content)
        except ValueError:
            raise ServerError("response is not JSON", system=self.system, status=response.status_code,
                              excerpt=excerpt(response_text(response), self._all_secrets()),
                              request=f"{method} {path}") from None

    def _exchange_response(self, method: str, path: str, params: Params | None, body: Any,
                           headers: Mapping[str, str]) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        extra = dict(headers) | ({"Content-Type": "application/json"} if body is not None else {})
        content = codec.dumps(body) if body is not None else None
        request = self._http.build_request(method, path, params=clean, content=content, headers=extra)
        self.requests += 1
        try:
            response = self._http.send(request)
        except httpx.TransportError as error:
            kind = "timed out" if isinstance(error, httpx.TimeoutException) else "transport failure"
            raise TransportError(f"{kind}: {type(error).__name__}: {excerpt(str(error), self._all_secrets())}",
                                 system=self.system, request=f"{method} {path}") from None
        self._raise_for(response, method, path)
        return response

    def _raise_for(self, response: httpx.Response, method: str, path: str) -> None:
        if 200 <= response.status_code < 300:
            return
        secrets = self._all_secrets()
        try:
            body = decode_json(response.content) if response.content else None
        except ValueError:
            body = None
        detail = describe(body)
        if response.status_code == 500 and no_entity(body):
            raise NotFound(excerpt(detail or "no record matches the keys", secrets), system=self.system, status=500,
                           request=f"{method} {httpx.URL(path).path}")
        try:
            classify_response(response, system=self.system, secrets=secrets)
        except ConnectorError as error:
            if detail:
                error.message = excerpt(detail, secrets, limit=500)
                error.args = (error.message,)
            if isinstance(error, RateLimited) and "Retry-After" not in response.headers:
                error.retry_after = settings.DEFAULT_RETRY_AFTER_SECONDS
            if isinstance(error, NotFound) and path.startswith(self.entity_path):
                self._raise_if_version_missing(error)
            raise

    def _raise_if_version_missing(self, error: NotFound) -> None:
        try:
            offered = self.endpoint_versions()
        except ConnectorError as lookup:
            log.warning("acumatica: could not list endpoint versions after a 404: %s", lookup)
            return
        if self.endpoint not in offered:
            raise EndpointVersionNotFound(
                f"endpoint {self.endpoint} does not exist on this instance (HTTP 404); it offers "
                f"{', '.join(offered) or 'no endpoints'} — set ACUMATICA_ENDPOINT_VERSION to one of them",
                offered=offered, system=self.system, status=404, request=error.request) from None

    def _relative(self, location: str) -> str:
        url = httpx.URL(location)
        base_path = httpx.URL(self.base_url).path.rstrip("/")
        path = url.path[len(base_path):] if base_path and url.path.startswith(base_path) else url.path
        return path + (f"?{url.query.decode()}" if url.query else "")

    def _all_secrets(self) -> tuple[str, ...]:
        more = getattr(self.auth, "redaction_values", lambda: ())()
        return tuple(s for s in (*self._secrets, *more) if s)
