"""What every Books API request passes before its handler, in order:

1. `Authorization: Zoho-oauthtoken <token>`: absent or another scheme → 401 code 14; a token this
   data centre did not issue (another DC's, unknown, expired, revoked) → 401 code 57; a token
   whose scopes do not cover the module and operation → 401 code 57.
2. `organization_id` (every path but `/organizations`): missing, unknown, of another DC or not the
   token's user's → 400 code 2 "Invalid value passed for organization_id".
3. The organisation's limits (`limits.py`): 429 with code 1070, 44 or 45.
4. While the control plane holds requests (`/__sandbox/hold`), admitted requests wait in flight.
5. A queued fault, if any: its status and `{code, message}` (also HTTP 200 with a non-zero code,
   as some Zoho business errors arrive).
6. The handler, under the state lock.

Scopes are `ZohoBooks.<module>.<OP>` (OP: READ for GET, CREATE for POST, UPDATE for PUT, DELETE
for DELETE, or ALL) or `ZohoBooks.fullaccess.all`; items, taxes and organisations fall under
`settings`, journals and the chart of accounts under `accountants` (reference §2).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from sandbox.zoho_books.errors import NO_AUTH_MESSAGE, NOT_AUTHORIZED_MESSAGE, BooksError, JSONResponse, invalid
from sandbox.zoho_books.org import Organization
from sandbox.zoho_books.state import ZohoState

Handler = Callable[[Request, Organization | None, dict[str, Any]], Response]
logger = logging.getLogger(__name__)
OPS = {"GET": "read", "POST": "create", "PUT": "update", "DELETE": "delete"}


def scope_allows(scope: str, module: str, method: str) -> bool:
    """Whether a token's comma-separated scopes cover `method` on `module`."""
    granted = {s.strip().lower() for s in scope.split(",")}
    return bool(granted & {"zohobooks.fullaccess.all", f"zohobooks.{module}.all",
                           f"zohobooks.{module}.{OPS.get(method, 'read')}"})


async def read_body(request: Request) -> dict[str, Any]:
    """A JSON object from the raw body (any content type) or a form's `JSONString` field."""
    raw = await request.body()
    if "x-www-form-urlencoded" in request.headers.get("content-type", ""):
        raw = parse_qs(raw.decode("utf-8", "replace")).get("JSONString", [""])[0].encode()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BooksError(400, 1038, "JSON is not well formed") from None
    if not isinstance(body, dict):
        raise BooksError(400, 1038, "JSON is not well formed")
    return body


class Gate:
    """Wraps Books handlers of one data centre's app."""

    def __init__(self, state: ZohoState, dc: str) -> None:
        self.state, self.dc = state, dc
        self.latency = 0.0

    def __call__(self, template: str, module: str, handler: Handler, *, needs_org: bool = True) -> Any:
        """An endpoint for route `template` that runs `handler` behind the gate."""

        async def endpoint(request: Request) -> Response:
            try:
                response = await self._answer(request, module, handler, needs_org)
            except BooksError as exc:
                response = exc.response()
            except Exception:  # a simulator bug still answers as Zoho's servers do on a fault
                logger.exception("Zoho simulator failed on %s %s", request.method, template)
                response = BooksError(500, 1000, "Internal error").response()
            self.state.record(template, response.status_code)
            return response

        return endpoint

    async def _answer(self, request: Request, module: str, handler: Handler, needs_org: bool) -> Response:
        user_id = self._authenticate(request, module)
        org = self._organization(request, user_id) if needs_org else None
        if org is None:
            return self._run(handler, request, None, {"user_id": user_id})
        refusal = self.state.limiter.admit(org)
        if refusal is not None:
            raise refusal
        try:
            while not self.state.running.is_set():
                await asyncio.sleep(0.005)
            if self.latency:
                await asyncio.sleep(self.latency)
            fault = self.state.take_fault()
            if fault is not None:
                return JSONResponse(fault["body"], status_code=fault["status"])
            return self._run(handler, request, org, await read_body(request))
        finally:
            self.state.limiter.release(org)

    def _run(self, handler: Handler, request: Request, org: Organization | None, body: dict[str, Any]) -> Response:
        with self.state.lock:
            return handler(request, org, body)

    def _authenticate(self, request: Request, module: str) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Zoho-oauthtoken" or not token.strip():
            raise BooksError(401, 14, NO_AUTH_MESSAGE)
        access = self.state.accounts.access(self.dc, token.strip())
        if access is None or not scope_allows(access.scope, module, request.method):
            raise BooksError(401, 57, NOT_AUTHORIZED_MESSAGE)
        return access.user_id

    def _organization(self, request: Request, user_id: str) -> Organization:
        org_id = request.query_params.get("organization_id", "")
        org = self.state.orgs.get(org_id)
        if org is None or org.dc != self.dc or org_id not in self.state.members.get(user_id, ()):
            raise invalid("organization_id")
        return org
