"""Errors raised by the Tally connector, on the shared `connectors.common.errors` tree.

```
ConnectorError
├── TallyError (every class below also is one)
├── RetryableError → TransportError → TallyUnavailable
├── FatalError → TallyRejected, CompanyNotLoaded, TallyProtocolError (→ HostileXmlError)
│   └── AuthError → TallyAuthError → CompanyLoginRequired
└── TallyOutcomeUnknown: neither; see its docstring
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.common.errors import AuthError, ConnectorError, FatalError, TransportError

if TYPE_CHECKING:
    from connectors.tally.models import ImportResult

SYSTEM = "tally"


class TallyError(ConnectorError):
    """Base class of every Tally connector error."""

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("system", SYSTEM)
        super().__init__(message, **kwargs)


class TallyUnavailable(TallyError, TransportError):
    """Tally (or the agent in front of it) could not be reached, timed out or was busy; nothing landed."""


class TallyOutcomeUnknown(TallyError):
    """An import may or may not have been committed (timeout or drop after the body was sent).

    Deliberately neither retryable nor fatal: TallyPrime has no idempotency, so the caller must
    look the voucher up before sending it again (reference §5 "Batching", §6 "Duplicate detection").
    """


class TallyRejected(TallyError, FatalError):
    """Tally answered but did not accept everything that was sent; `result` has the counters."""

    def __init__(self, message: str, line_errors: list[str], result: ImportResult | None = None) -> None:
        super().__init__(message, excerpt="; ".join(line_errors)[:200] or None)
        self.line_errors = line_errors
        self.result = result


class CompanyNotLoaded(TallyError, FatalError):
    """No company, or not the configured company, is loaded in TallyPrime (an operator must load it)."""


class TallyProtocolError(TallyError, FatalError):
    """The reply was not something TallyPrime should send (wrong process on the port, bad XML)."""


class HostileXmlError(TallyProtocolError):
    """The reply declared a DOCTYPE or entities; refused without expanding anything."""


class TallyAuthError(TallyError, AuthError):
    """The LAN agent refused our bearer token, or Tally refused the company login."""


class CompanyLoginRequired(TallyAuthError):
    """TallyPrime refused the company login (TALLY_USERNAME / TALLY_PASSWORD missing or wrong)."""
