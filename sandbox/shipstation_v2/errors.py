"""V2 error responses in the documented shape (reference §5.1):

    {"request_id": "<uuid>", "errors": [{"error_source", "error_type", "error_code", "message"}]}

`error_type` and `error_code` values come from the documented enums (`validation`, `security`,
`system`, `business_rules`; `invalid_field_value`, `field_value_required`, `invalid_identifier`,
`unauthorized`, `rate_limit_exceeded`, `request_body_required`). Message texts we could not find
in a public source are prefixed `[sandbox]`.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from starlette.responses import Response

SOURCE = "shipstation"
# ShipEngine's own SDKs raise this text for 429 (RateLimitExceededError / RateLimitError).
RATE_LIMIT_MESSAGE = "You have exceeded the rate limit."
# Quoted from an integrator's log of a V2/ShipEngine 401 (error_code unauthorized).
UNAUTHORIZED_MESSAGE = "Access denied."


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(payload: object) -> bytes:
    """Compact UTF-8 JSON; `Decimal` becomes a plain number."""
    return json.dumps(payload, default=_default, ensure_ascii=False, separators=(",", ":")).encode()


class JSONResponse(Response):
    """JSON rendered by :func:`dumps`."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode the body."""
        return dumps(content)


class V2Error(Exception):
    """An HTTP error answer with one entry in `errors`."""

    def __init__(self, status: int, error_type: str, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.error_code = error_code
        self.message = message

    def body(self) -> dict[str, Any]:
        """The documented error document, with a fresh request id."""
        entry = {"error_source": SOURCE, "error_type": self.error_type, "error_code": self.error_code,
                 "message": self.message}
        return {"request_id": str(uuid.uuid4()), "errors": [entry]}

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        """This error as a response."""
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def invalid(message: str, code: str = "invalid_field_value") -> V2Error:
    """400 validation error."""
    return V2Error(400, "validation", code, f"[sandbox] {message}")


def required(field: str) -> V2Error:
    """400 for a missing required field."""
    return V2Error(400, "validation", "field_value_required", f"[sandbox] {field} is required")


def unknown_id(field: str, value: object) -> V2Error:
    """400 for an id that names nothing in this account."""
    return V2Error(400, "validation", "invalid_identifier", f"[sandbox] {field} {value!r} was not found")


def refused(message: str) -> V2Error:
    """400 for a well-formed request the inventory cannot satisfy (e.g. not enough stock)."""
    return V2Error(400, "business_rules", "invalid_field_value", f"[sandbox] {message}")


def not_found(what: str, value: object) -> V2Error:
    """404 for an unknown id in the path."""
    return V2Error(404, "validation", "invalid_identifier", f"[sandbox] {what} {value!r} was not found")


def unauthorized() -> V2Error:
    """401 for a missing or wrong `API-Key`."""
    return V2Error(401, "security", "unauthorized", UNAUTHORIZED_MESSAGE)


def rate_limited() -> V2Error:
    """429 once a key has spent its window."""
    return V2Error(429, "system", "rate_limit_exceeded", RATE_LIMIT_MESSAGE)


def server_fault(status: int) -> V2Error:
    """An injected 5xx."""
    return V2Error(status, "system", "unspecified", "[sandbox] injected server fault")
