"""Zoho's two error shapes: Books' `{code, message}` and the accounts server's `{"error": ...}`.

Books (reference §12, §11): every body carries `code` (0 = success) and `message`. The codes and
messages below come from the reference, Zoho's OpenAPI files and integrators' logs (sources in the
package docstring); the ones marked *assumed* were not found anywhere and are our guess.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.responses import Response

NO_AUTH_MESSAGE = ("The request could not be authenticated as the authentication value you entered is invalid. "
                   "Enter a valid authentication value and try again.")
NOT_AUTHORIZED_MESSAGE = "You are not authorized to perform this operation"
PER_MINUTE_MESSAGE = ("For security reasons your organization has been blocked as it have exceeded the maximum "
                      "number of requests per minute that can originate from an organization.")
CONCURRENCY_MESSAGE = ("You have reached the maximum number of in process requests allowed. "
                       "Kindly try again after some time.")
TOKEN_THROTTLE_MESSAGE = "You have made too many requests continuously. Please try again after some time."


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # shortest round-trip repr: 2-dp amounts print exactly as stored
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(body: Any) -> bytes:
    """JSON as Zoho writes it: UTF-8, non-ASCII unescaped, amounts as numbers."""
    return json.dumps(body, default=_default, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class JSONResponse(Response):
    """A JSON response rendered by `dumps`."""

    media_type = "application/json;charset=UTF-8"

    def render(self, content: Any) -> bytes:
        """Encode the body."""
        return dumps(content)


class BooksError(Exception):
    """A Books API refusal: HTTP status plus `{code, message}`."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> JSONResponse:
        """The error as Zoho sends it."""
        return JSONResponse({"code": self.code, "message": self.message}, status_code=self.status)


class OAuthError(Exception):
    """An accounts-server refusal: `{"error": ...}`, HTTP 200 unless said otherwise (Zoho answers 200)."""

    def __init__(self, error: str, *, status: int = 200, description: str | None = None) -> None:
        super().__init__(error)
        self.error, self.status, self.description = error, status, description

    def response(self) -> JSONResponse:
        """The error as the accounts server sends it."""
        body: dict[str, str] = {"error": self.error}
        if self.description:
            body = {"error_description": self.description, "error": self.error, "status": "failure"}
        return JSONResponse(body, status_code=self.status)


def invalid(field: str) -> BooksError:
    """400 for a missing or malformed parameter (code 2, as for `organization_id`)."""
    return BooksError(400, 2, f"Invalid value passed for {field}")


def missing(field: str) -> BooksError:
    """400 for a required field left out (code 4 *assumed*)."""
    return BooksError(400, 4, f"Invalid value passed for {field}")


def not_found(entity: str) -> BooksError:
    """404 `{1002, "<Entity> does not exist."}` (the docs' example; HTTP 404 *assumed*)."""
    return BooksError(404, 1002, f"{entity} does not exist.")


def refused(code: int, message: str) -> BooksError:
    """400 for a well-formed request the business rules refuse."""
    return BooksError(400, code, message)
