"""Zoho Books error shapes, classified once (reference §11, §12).

Every reply carries ``{code, message}``; ``code`` 0 is success, anything else is an error even on
HTTP 200. A 429 is told apart by its code: 44 (per-minute block: wait and go on), 1070 (too many
requests in flight: wait briefly), 45 (the organisation's daily cap: nothing more today). The daily
cap is :class:`DailyLimitReached`, which no retry loop retries: the run stops, what was not sent
stays to be sent, and the next day's run carries on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.common.errors import (
    BadRequest,
    ConnectorError,
    NotFound,
    RateLimited,
    ServerError,
    excerpt,
)
from connectors.common.http import classify_response, decode_json, response_text
from connectors.zoho_books import settings

CODE_NOT_FOUND = (1002, 5, 1004, 1012, 4000)  # "X does not exist" codes seen on GET by id [3p]


class DailyLimitReached(ConnectorError):
    """The organisation's daily API cap is spent (code 45, or our own count): stop until ``resume_at``.

    Deliberately neither retryable nor fatal: nothing was wrong with the request, and retrying today
    cannot help. Callers end the run cleanly and leave the rest for the next day.
    """

    def __init__(self, message: str, *, resume_at: datetime, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.resume_at = resume_at


class ZohoApiError(BadRequest):
    """A refusal with Zoho's own ``code`` (on HTTP 4xx, or on HTTP 200 with a non-zero code)."""

    def __init__(self, message: str, *, code: int | None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.code = code


class ZohoNotFound(NotFound):
    """The record asked for does not exist (HTTP 404 or a "does not exist" code)."""


def next_reset(now: datetime | None = None) -> datetime:
    """When a daily cap is assumed to lift: the next UTC midnight (Zoho does not say, §11) [unverified]."""
    now = now or datetime.now(UTC)
    return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def body_of(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = decode_json(response.content) if response.content else None
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def check_response(response: httpx.Response, *, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """The decoded body of a successful reply, or the classified error (§11, §12)."""
    body = body_of(response)
    code = _code(body)
    context: dict[str, Any] = {"system": settings.SYSTEM, "status": response.status_code,
                               "excerpt": excerpt(response_text(response), secrets)}
    if response.request is not None:
        context["request"] = f"{response.request.method} {response.request.url.path}"
    message = excerpt(str((body or {}).get("message") or response.reason_phrase or "error"), secrets)
    if response.status_code == 429 or code in (settings.CODE_PER_MINUTE, settings.CODE_DAILY_CAP,
                                               settings.CODE_CONCURRENCY):
        _raise_limit(code, message, context)
    if response.status_code in (401, 403) or response.status_code >= 500 or response.status_code == 408:
        classify_response(response, system=settings.SYSTEM, secrets=secrets)
    if response.status_code == 404 or (code in CODE_NOT_FOUND and response.request is not None
                                       and response.request.method == "GET"):
        raise ZohoNotFound(message, **context)
    if response.status_code >= 400 or code not in (0, None):
        raise ZohoApiError(message, code=code, **context)
    if body is None:
        raise ServerError("reply is not a JSON object", **context)
    if code is None:
        raise ServerError("reply carries no code", **context)
    return body


def _code(body: dict[str, Any] | None) -> int | None:
    try:
        return int(body["code"]) if body is not None and "code" in body else None
    except (TypeError, ValueError):
        return None


def _raise_limit(code: int | None, message: str, context: dict[str, Any]) -> None:
    if code == settings.CODE_DAILY_CAP:
        raise DailyLimitReached(message, resume_at=next_reset(), **context)
    wait = settings.CONCURRENCY_WAIT_SECONDS if code == settings.CODE_CONCURRENCY else settings.PER_MINUTE_WAIT_SECONDS
    raise RateLimited(message, retry_after=wait, **context)
