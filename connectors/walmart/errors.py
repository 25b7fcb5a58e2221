"""Walmart's error shape (reference §10), read once and classified: retryable, or naming the record.

The body is ``{"errors": [{"code", "field", "description"|"message", "info", "severity", "category",
"causes", "errorIdentifiers"}]}``; some endpoints wrap the list as ``{"errors": {"error": [...]}}`` and
some answer XML ``<errors><error>…</error></errors>``. Retryable: 429 (``REQUEST_THRESHOLD_VIOLATED``,
wait for ``x-next-replenish-time``), 5xx and the system codes (``SYSTEM_ERROR``,
``INVALID_SYSTEM_STATE``, ``DOWNSTREAM_SYSTEM_TIME_OUT``), 423 ``RESOURCE_IS_LOCKED`` and 408. Fatal:
401/403 (:class:`AuthError`), 404, and every other 4xx as :class:`WalmartRequestError`, which names the
record (the purchase order, return or SKU the request was about) and the offending field.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from lxml import etree

from connectors.common.errors import (
    AuthError,
    BadRequest,
    ConnectorError,
    NotFound,
    RateLimited,
    ServerError,
    excerpt,
)
from connectors.common.http import decode_json, response_text, retry_after_seconds
from connectors.common.ratelimit.endpoints import seconds_until
from connectors.walmart.settings import DEFAULT_RETRY_AFTER_SECONDS, SYSTEM

RETRYABLE_CODES = frozenset({
    "REQUEST_THRESHOLD_VIOLATED", "SYSTEM_ERROR", "INVALID_SYSTEM_STATE", "DOWNSTREAM_SYSTEM_TIME_OUT",
    "RESOURCE_IS_LOCKED.GMP_RECEIVER_API", "RESOURCE_IS_LOCKED",
})
REPLENISH_HEADERS = ("x-next-replenish-time", "x-next-replenishment-time")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


@dataclass(frozen=True)
class ApiError:
    """One entry of Walmart's ``errors[]``."""

    code: str = ""
    field: str = ""
    description: str = ""
    info: str = ""
    severity: str = ""
    category: str = ""

    @property
    def retryable(self) -> bool:
        return self.code.upper() in RETRYABLE_CODES or self.category.upper() == "SYSTEM"

    def text(self) -> str:
        words = [self.code, f"field {self.field}" if self.field else "", self.description or self.info]
        return ": ".join(w for w in words if w)


class WalmartRequestError(BadRequest):
    """A 4xx other than 401/403/404/429: Walmart refused this request; names the record and field."""

    def __init__(self, message: str, *, errors: Sequence[ApiError] = (), record: str | None = None,
                 field: str | None = None, **context: Any) -> None:
        super().__init__(message, **context)
        self.errors = tuple(errors)
        self.record = record
        self.field = field


def parse_errors(content: bytes | str) -> list[ApiError]:
    """Every ``errors[]`` entry of a JSON or XML error body; ``[]`` when the body has none."""
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
    stripped = text.lstrip()
    if stripped.startswith("<"):
        return _xml_errors(stripped)
    try:
        body = decode_json(text)
    except ValueError:
        return []
    return [_entry(e) for e in _error_list(body) if isinstance(e, Mapping)]


def _error_list(body: Any) -> list[Any]:
    if not isinstance(body, Mapping):
        return []
    errors = body.get("errors", body.get("error"))
    if isinstance(errors, Mapping):
        errors = errors.get("error", [errors])
    if isinstance(errors, Mapping):
        errors = [errors]
    return errors if isinstance(errors, list) else []


def _entry(raw: Mapping[str, Any]) -> ApiError:
    def text(*keys: str) -> str:
        for key in keys:
            value = raw.get(key)
            if value not in (None, ""):
                return str(value).strip()
        return ""

    return ApiError(code=text("code"), field=text("field"), description=text("description", "message"),
                    info=text("info"), severity=text("severity"), category=text("category"))


def _xml_errors(text: str) -> list[ApiError]:
    try:
        root = etree.fromstring(text.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError:
        return []
    found = []
    for node in root.iter():
        if isinstance(node.tag, str) and etree.QName(node).localname == "error":
            values = {etree.QName(c).localname: (c.text or "") for c in node if isinstance(c.tag, str)}
            found.append(_entry(values))
    return found


def replenish_seconds(headers: httpx.Headers, wall: Callable[[], float] = time.time) -> float | None:
    """Seconds until the endpoint's bucket refills (``x-next-replenish-time``), else ``Retry-After``."""
    for name in REPLENISH_HEADERS:
        seconds = seconds_until(headers.get(name), wall)
        if seconds is not None:
            return seconds
    return retry_after_seconds(headers, wall, reset_header=None)


def classify(response: httpx.Response, *, secrets: Sequence[str] = (), record: str | None = None,
             wall: Callable[[], float] = time.time) -> None:
    """Return quietly for 2xx; otherwise raise the matching ``ConnectorError`` (see module doc)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    errors = parse_errors(response.content)
    message = excerpt("; ".join(e.text() for e in errors) or response.reason_phrase or "unexpected status", secrets)
    context: dict[str, Any] = {"system": SYSTEM, "status": status, "excerpt": excerpt(response_text(response), secrets)}
    if response.request is not None:
        context["request"] = f"{response.request.method} {response.request.url.path}"
    error = _error(status, errors, message, context, record, wall, response.headers)
    error.errors = tuple(errors)  # type: ignore[attr-defined]
    raise error


def _error(status: int, errors: list[ApiError], message: str, context: dict[str, Any], record: str | None,
           wall: Callable[[], float], headers: httpx.Headers) -> ConnectorError:
    if status == 429 or any(e.code.upper() == "REQUEST_THRESHOLD_VIOLATED" for e in errors):
        wait = replenish_seconds(headers, wall)
        return RateLimited(message, retry_after=DEFAULT_RETRY_AFTER_SECONDS if wait is None else wait, **context)
    if status >= 500 or status in (408, 423) or any(e.retryable for e in errors):
        return ServerError(message, **context)
    if status in (401, 403):
        return AuthError(message, **context)
    if status == 404:
        return NotFound(f"{record}: {message}" if record else message, **context)
    field = next((e.field for e in errors if e.field), None)
    named = f"record {record}: {message}" if record else message
    return WalmartRequestError(named, errors=errors, record=record, field=field, **context)
