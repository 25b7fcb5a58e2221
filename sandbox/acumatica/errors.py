"""Acumatica's error answers, in the shapes its ASP.NET Web API host sends.

- Server exceptions (500, also the API Login Limit and a record that is not there):
  `{"message": "An error has occurred.", "exceptionMessage", "exceptionType", "stackTrace"}`
  (the `HttpError` definition of every Default swagger; texts quoted in the package docstring).
- Routing misses (unknown endpoint, version or entity): 404 `{"message": "No HTTP resource was found
  that matches the request URI '<uri>'."}` (Web API's own text).
- Validation (422): the echoed record with `error` next to each bad value and at entity level.
- Declined by the licence (429): IIS's plain-text body (see the package docstring).

Texts we could not find in a public source start with `[sandbox]`.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.responses import Response

GENERIC = "An error has occurred."
PX_EXCEPTION = "PX.Data.PXException"
NO_ENTITY = "No entity satisfies the condition."
NO_ENTITY_TYPE = "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException"
LOGIN_LIMIT = "API Login Limit"
INVALID_CREDENTIALS = "Error: Invalid credentials. Please try again."
UNDEFINED_COMPANY = "A proper company ID cannot be determined for the request."
UNDEFINED_COMPANY_TYPE = "PX.Data.PXUndefinedCompanyException"
DECLINED_TEXT = "The custom error module does not recognize this error."
NOT_LOGGED_IN = "[sandbox] You are not logged in."


def _default(value: object) -> object:
    if isinstance(value, Decimal):  # the contract types DecimalValue as a JSON double
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(payload: object) -> bytes:
    """UTF-8 JSON as the API writes it."""
    return json.dumps(payload, default=_default, ensure_ascii=False, separators=(",", ":")).encode()


class JSONResponse(Response):
    media_type = "application/json; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return dumps(content)


class AcumaticaError(Exception):
    """An error answer: status plus body (an `HttpError` object, an echoed record, or text)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> Response:
        if isinstance(self.body, str):
            return Response(self.body, status_code=self.status, media_type="text/plain; charset=utf-8",
                            headers=self.headers)
        return JSONResponse(self.body, status_code=self.status, headers=self.headers)


def server_error(message: str, exception_type: str = PX_EXCEPTION, status: int = 500) -> AcumaticaError:
    """An exception surfaced by the Web API host (HttpError with exception details)."""
    return AcumaticaError(status, {"message": GENERIC, "exceptionMessage": message, "exceptionType": exception_type,
                                   "stackTrace": "   at PX.Api.ContractBased.WebApi (sandbox)"})


def no_entity() -> AcumaticaError:
    """A key or id that names no record (GET/DELETE by keys, an action's entity)."""
    return server_error(NO_ENTITY, NO_ENTITY_TYPE)


def route_miss(uri: str) -> AcumaticaError:
    """404 for an endpoint name, version or entity the instance does not have."""
    return AcumaticaError(404, {"message": f"No HTTP resource was found that matches the request URI '{uri}'."})


def not_logged_in() -> AcumaticaError:
    return AcumaticaError(401, {"message": NOT_LOGGED_IN})


def bad_request(message: str) -> AcumaticaError:
    return AcumaticaError(400, {"message": message})


def precondition_failed(message: str) -> AcumaticaError:
    return server_error(message, status=412)


def declined() -> AcumaticaError:
    """429: the licence's request queue is full or the wait would pass 10 minutes."""
    return AcumaticaError(429, DECLINED_TEXT)


def invalid_record(echo: dict[str, Any]) -> AcumaticaError:
    """422: the record echoed back with `error` on each bad field and at entity level."""
    return AcumaticaError(422, echo)
