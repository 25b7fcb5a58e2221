"""A small base for typed HTTP clients: one httpx client, one error classification, one retry loop.

Subclasses add typed methods on top of :meth:`BaseClient.get_json`. A :class:`Pacer` (for example a
rate limiter) sees every attempt before it is sent and every response after it arrives.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx
from tenacity import Retrying

from connectors.common.errors import (
    AuthError,
    BadRequest,
    NotFound,
    RateLimited,
    RetryableError,
    ServerError,
    TransportError,
    excerpt,
)
from connectors.common.retry import RetryOn, RetryPolicy, retrying

log = logging.getLogger(__name__)

Params = Mapping[str, str | int | float | bool | None]
DEFAULT_RETRY_AFTER = 60.0  # an unannounced 429: sleep a full window (tap-shipstation does, §6.9)


class Pacer(Protocol):
    """Something that may delay a request and learns from each response (e.g. a rate limiter).

    ``before_request`` gets the request about to be sent (``None`` when the caller has none), so a
    limiter can keep one budget per endpoint; ``after_response`` sees every response, 429s included.
    """

    def before_request(self, request: httpx.Request | None = None) -> None: ...

    def after_response(self, response: httpx.Response) -> None: ...


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def decode_json(content: bytes | str) -> Any:
    """Decode JSON with every non-integer number as ``Decimal`` (money never passes through float).

    Raises ``ValueError`` for anything that is not JSON we can hold, including nesting deep enough to
    exhaust the parser's recursion (a hostile or broken body) and undecodable bytes.
    """
    try:
        return json.loads(content, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def response_text(response: httpx.Response) -> str:
    """The body as text for an error message, whatever charset it claims (a wrong one gives replacement marks)."""
    try:
        return response.text
    except (UnicodeError, LookupError):
        return response.content.decode("utf-8", errors="replace")


def retry_after_seconds(
    headers: httpx.Headers, now: Callable[[], float] = time.time, *, reset_header: str | None = "X-Rate-Limit-Reset"
) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or, failing that, ``reset_header`` (seconds)."""
    value = headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - now())
            except (TypeError, ValueError):
                pass
    reset = headers.get(reset_header) if reset_header else None
    try:
        return max(0.0, float(reset)) if reset else None
    except ValueError:
        return None


def _api_message(response: httpx.Response) -> str | None:
    try:
        body = decode_json(response.content)
    except ValueError:
        return None
    if isinstance(body, Mapping):
        for key in ("message", "Message", "ExceptionMessage", "error", "error_description"):
            if isinstance(body.get(key), str):
                return body[key]
    return None


def classify_response(
    response: httpx.Response, *, system: str, secrets: Sequence[str] = (), retry_after_padding: float = 0.0
) -> None:
    """Return quietly for 2xx; otherwise raise the matching ``ConnectorError``."""
    status = response.status_code
    if 200 <= status < 300:
        return
    text = excerpt(response_text(response), secrets)
    message = excerpt(_api_message(response) or response.reason_phrase or "unexpected status", secrets)
    context: dict[str, Any] = {"system": system, "status": status, "excerpt": text}
    if response.request is not None:
        context["request"] = f"{response.request.method} {response.request.url.path}"
    if status == 429:
        wait = retry_after_seconds(response.headers)
        retry_after = (DEFAULT_RETRY_AFTER if wait is None else wait) + retry_after_padding
        raise RateLimited(message, retry_after=retry_after, **context)
    if status >= 500 or status == 408:
        raise ServerError(message, **context)
    if status in (401, 403):
        raise AuthError(message, **context)
    if status == 404:
        raise NotFound(message, **context)
    raise BadRequest(message, **context)


@functools.cache
def default_tls() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CAs, or SSL_CERT_FILE / SSL_CERT_DIR), built once per process:
    building one reads the CA bundle (20-40 ms), and each client a run opens would otherwise build its own
    (five in a ShipStation -> TallyPrime run). A context is safe to share between clients and threads."""
    return httpx.create_ssl_context()


class BaseClient:
    """httpx client + retry policy + pacer; subclasses set ``system`` and add typed methods."""

    system = "connector"
    retry_after_padding = 0.0

    def __init__(
        self,
        *,
        base_url: str,
        auth: httpx.Auth | None,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryPolicy = RetryPolicy(),
        pacer: Pacer | None = None,
        secrets: Sequence[str] = (),
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = base_url
        self._auth = auth
        self._http = httpx.Client(base_url=base_url, auth=auth, timeout=timeout, transport=transport, headers=headers,
                                  verify=default_tls())
        self._retry = retry
        self._pacer = pacer
        self._secrets = tuple(s for s in secrets if s)
        self._sleep = sleep
        self._rng = rng

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def __enter__(self) -> BaseClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool, then the auth if it holds anything (a token client, a session to log out)."""
        try:
            self._http.close()
        finally:
            closer = getattr(self._auth, "close", None)
            if callable(closer):
                closer()

    def get_json(self, path: str, params: Params | None = None) -> Any:
        """GET ``path`` with retries; return the body decoded with ``Decimal`` floats."""
        return self.request_json("GET", path, params=params)

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        retry_on: RetryOn = RetryableError,
    ) -> Any:
        """Send one logical request (retried per policy, for errors ``retry_on`` admits) and decode its JSON body."""
        return self.retryer(retry_on)(self._attempt, method, path, params, json)

    def retryer(self, retry_on: RetryOn = RetryableError) -> Retrying:
        """A fresh common retryer with this client's policy, sleep and jitter."""
        policy = self._retry
        return retrying(policy.max_attempts, policy.base_delay, policy.max_delay, sleep=self._sleep, rng=self._rng,
                        retry_on=retry_on)

    def _attempt(self, method: str, path: str, params: Params | None, body: Any) -> Any:
        response = self._send(method, path, params, body)
        classify_response(
            response, system=self.system, secrets=self._secrets, retry_after_padding=self.retry_after_padding
        )
        if not response.content:
            return None
        try:
            return decode_json(response.content)
        except ValueError as error:
            raise ServerError(
                f"response is not JSON ({error})",
                system=self.system,
                status=response.status_code,
                excerpt=excerpt(response_text(response), self._secrets),
                request=f"{method} {path}",
            ) from None

    def _send(self, method: str, path: str, params: Params | None, body: Any) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        request = self._http.build_request(method, path, params=clean, json=body)
        if self._pacer is not None:
            self._pacer.before_request(request)
        log.debug("%s %s %s", method, path, clean)
        try:
            response = self._http.send(request)
        except httpx.TransportError as error:
            kind = "timed out" if isinstance(error, httpx.TimeoutException) else "transport failure"
            raise TransportError(
                f"{kind}: {type(error).__name__}: {excerpt(str(error), self._secrets)}",
                system=self.system,
                request=f"{method} {path}",
            ) from None
        if self._pacer is not None:
            self._pacer.after_response(response)
        return response
