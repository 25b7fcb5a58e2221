"""Errors the simulator answers with, in the shapes ShipStation V1 (ASP.NET Web API) uses.

Seen from the real API (quoted in integrators' issue threads, e.g. joecampo/laravel-shipstation
#5, #8, #15): validation failures are 400 `{"Message": "The request is invalid.", "ModelState":
{"<field>": ["<why>"]}}`; server faults are 500 `{"Message": "An error has occurred.", ...}`.
Business-rule refusals (locked orders) are not documented; we answer 400 `{"Message": "<why>"}`.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An HTTP error response: status code and JSON body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("Message", str(status)))
        self.status = status
        self.body = body


def invalid(field: str, why: str) -> ApiError:
    """400 in the ASP.NET `ModelState` shape, naming the offending field."""
    return ApiError(400, {"Message": "The request is invalid.", "ModelState": {field: [why]}})


def refused(message: str) -> ApiError:
    """400 for a well-formed request the business rules refuse (e.g. a locked order)."""
    return ApiError(400, {"Message": message})


def not_found(what: str, ident: object) -> ApiError:
    """404 for an unknown id."""
    return ApiError(404, {"Message": f"{what} {ident} was not found."})
