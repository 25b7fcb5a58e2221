"""The exception tree every connector raises.

```
ConnectorError
├── RetryableError          worth trying again (the common retry does)
│   ├── RateLimited         429; carries retry_after seconds
│   ├── ServerError         5xx, or a 2xx whose body is not what the API promises
│   └── TransportError      timeouts, refused / reset connections
└── FatalError              trying again will not help
    ├── AuthError           401 / 403
    ├── NotFound            404
    ├── BadRequest          other 4xx
    └── RecordError         one record's field is unusable; names record and field
```

Every error carries the ``system`` it came from and, when known, the HTTP ``status`` and a short
``excerpt`` of the response body. Credentials never go into an error: excerpts are redacted by the
code that builds them (see :func:`redact`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

EXCERPT_CHARS = 200
REDACTED = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every non-empty secret in ``text`` with ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def excerpt(text: str, secrets: Iterable[str] = (), limit: int = EXCERPT_CHARS) -> str:
    """Collapse whitespace, redact secrets and cut ``text`` to ``limit`` characters."""
    flat = redact(" ".join(text.split()), secrets)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _restore(cls: type[ConnectorError], state: dict[str, Any], args: tuple[Any, ...]) -> ConnectorError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConnectorError(Exception):
    """Base of every error a connector raises."""

    def __init__(
        self,
        message: str,
        *,
        system: str,
        status: int | None = None,
        excerpt: str | None = None,
        request: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.status = status
        self.excerpt = excerpt
        self.request = request  # "GET /orders": method and path only, never headers

    def __str__(self) -> str:
        parts = [f"{self.system}:"]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.request:
            parts.append(f"on {self.request}:")
        parts.append(self.message)
        if self.excerpt and self.excerpt != self.message:
            parts.append(f"— {self.excerpt}")
        return " ".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive pickling by default; Dagster ships errors
        # between processes.
        return (_restore, (type(self), dict(self.__dict__), self.args))


class RetryableError(ConnectorError):
    """A failure that may go away if the same request is sent again later."""


class RateLimited(RetryableError):
    """HTTP 429: wait at least ``retry_after`` seconds before the next request."""

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(RetryableError):
    """HTTP 5xx, or a success response whose body cannot be decoded."""


class TransportError(RetryableError):
    """The request never got an HTTP answer: timeout, connection refused or reset."""


class FatalError(ConnectorError):
    """A failure that sending the same request again will not fix."""


class AuthError(FatalError):
    """HTTP 401 / 403: the credentials are wrong, revoked or lack the permission."""


class NotFound(FatalError):
    """HTTP 404."""


class BadRequest(FatalError):
    """Any other HTTP 4xx; ``message`` is the API's own explanation when it gives one."""


class RecordError(FatalError):
    """One record cannot be used: ``field`` of record ``record_id`` failed to parse or validate."""

    def __init__(self, system: str, record_id: str | int | None, field: str, message: str) -> None:
        super().__init__(f"record {record_id}: field {field!r}: {message}", system=system)
        self.record_id = record_id
        self.field = field
        self.reason = message
