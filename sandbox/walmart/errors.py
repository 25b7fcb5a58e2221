"""Walmart's error documents (JSON rendered as the V2 simulator does: `Decimal` as a plain number).

Shape (reference §10, developer.walmart.com "Troubleshoot error codes", the OpenAPI `GatewayError`):
``{"errors": [{"code", "field", "description", "info", "severity", "category", "causes": [],
"errorIdentifiers": {}}]}``. Codes carry the service suffix seen from the real gateway
(`UNAUTHORIZED.GMP_GATEWAY_API`, `CONTENT_NOT_FOUND.GMP_ITEM_QUERY_API`, ...). Texts we could not
find in a public source start with `[sandbox]`.
"""

from __future__ import annotations

from typing import Any

from sandbox.shipstation_v2.errors import JSONResponse  # same JSON rendering (Decimal as a number)

# Category and severity per code: the error-codes table (reference §10).
_KINDS: dict[str, tuple[str, str]] = {
    "CONTENT_NOT_FOUND": ("APPLICATION", "INFO"),
    "INVALID_ACCEPT_TYPE": ("APPLICATION", "ERROR"),
    "REQUEST_THRESHOLD_VIOLATED": ("REQUEST", "ERROR"),
    "SYSTEM_ERROR": ("SYSTEM", "ERROR"),
    "DOWNSTREAM_SYSTEM_TIME_OUT": ("SYSTEM", "ERROR"),
}
# Quoted from a real gateway answer (highsidelabs/walmart-api-php issue #5).
UNAUTHORIZED_INFO = ("Unauthorized token or incorrect authorization header. Please verify correct format: "
                     '"Authorization: Basic Base64Encode(clientId:clientSecret)"')


class WalmartError(Exception):
    """An HTTP error answer with one entry in `errors`."""

    error_key = "errors"  # the gateway was also seen answering `{"error": [...]}`; see create_app

    def __init__(self, status: int, code: str, description: str, *, field: str | None = None,
                 info: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description
        self.field, self.info, self.headers = field, info, dict(headers or {})

    def entry(self) -> dict[str, Any]:
        """The one error object."""
        category, severity = _KINDS.get(self.code.split(".")[0], ("DATA", "ERROR"))
        entry: dict[str, Any] = {"code": self.code}
        if self.field is not None:
            entry["field"] = self.field
        entry |= {"description": self.description, "info": self.info or self.description,
                  "severity": severity, "category": category, "causes": [], "errorIdentifiers": {}}
        return entry

    def response(self, key: str | None = None) -> JSONResponse:
        """This error as a response; `key` overrides the top-level member name."""
        return JSONResponse({key or self.error_key: [self.entry()]}, status_code=self.status, headers=self.headers)


def missing_header(name: str) -> WalmartError:
    """400 for a required header that is absent."""
    return WalmartError(400, "MISSING_REQUEST_HEADER.GMP_GATEWAY_API", f"[sandbox] Missing header {name}", field=name)


def invalid_header(name: str, why: str) -> WalmartError:
    """400 for a header that is present but unusable (e.g. a blank correlation id)."""
    return WalmartError(400, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API", f"[sandbox] {name} {why}", field=name)


def unauthorized(why: str = "Unauthorized") -> WalmartError:
    """401: token or client credentials missing, expired or unknown."""
    return WalmartError(401, "UNAUTHORIZED.GMP_GATEWAY_API", why, field="UNAUTHORIZED", info=UNAUTHORIZED_INFO)


def not_acceptable(accept: str) -> WalmartError:
    """406 for an Accept header this API cannot answer."""
    return WalmartError(406, "INVALID_ACCEPT_TYPE.GMP_GATEWAY_API", f"[sandbox] Unsupported Accept: {accept}")


def unsupported_media(content_type: str, service: str) -> WalmartError:
    """415 for a body in a media type the endpoint does not take."""
    return WalmartError(415, f"UNSUPPORTED_MEDIA_TYPE.{service}", f"[sandbox] Unsupported Content-Type: {content_type}")


def bad_param(name: str, why: str, service: str, *, missing: bool = False) -> WalmartError:
    """400 for a query parameter that is missing or invalid."""
    code = "MISSING_REQUEST_PARAM" if missing else "INVALID_REQUEST_PARAM"
    return WalmartError(400, f"{code}.{service}", f"[sandbox] {name} {why}", field=name)


def bad_content(why: str, service: str, *, field: str | None = None, malformed: bool = False) -> WalmartError:
    """400 for a body that does not parse (malformed) or breaks a rule."""
    code = "MALFORMED_REQUEST_CONTENT" if malformed else "INVALID_REQUEST_CONTENT"
    return WalmartError(400, f"{code}.{service}", f"[sandbox] {why}", field=field)


def not_found(what: str, ident: object, service: str) -> WalmartError:
    """404 CONTENT_NOT_FOUND for an unknown id (severity INFO, category APPLICATION)."""
    return WalmartError(404, f"CONTENT_NOT_FOUND.{service}", f"[sandbox] {what} {ident} was not found")


def throttled(headers: dict[str, str]) -> WalmartError:
    """429 once the endpoint's bucket is empty."""
    return WalmartError(429, "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API", "Too Many Requests", headers=headers)


def server_fault(status: int) -> WalmartError:
    """An injected 5xx."""
    code = "DOWNSTREAM_SYSTEM_TIME_OUT" if status == 504 else "SYSTEM_ERROR"
    return WalmartError(status, f"{code}.GMP_GATEWAY_API", "[sandbox] injected server fault")
