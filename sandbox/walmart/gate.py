"""What every business call passes before its handler (reference §2 "Headers on every business call", §10).

Order: `WM_SVC.NAME` and `WM_QOS.CORRELATION_ID` present and not blank (400
MISSING_REQUEST_HEADER / INVALID_REQUEST_HEADER) → `WM_SEC.ACCESS_TOKEN` known and unexpired (401
UNAUTHORIZED) → `Accept` present (400) and naming a type the endpoint answers (406; `*/*` alone is not
enough, as the API may otherwise answer XML) → the endpoint's token bucket (429, no token spent) → a
queued fault → the handler. Every answer after the token check carries the bucket's headers. An
`Authorization: Basic` header on business calls is ignored (older Walmart pages list it as common).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response

from sandbox.walmart import errors
from sandbox.walmart.control_stats import Controls
from sandbox.walmart.errors import WalmartError
from sandbox.walmart.limits import Buckets
from sandbox.walmart.state import WalmartState

Handler = Callable[[Request], Awaitable[Response]]
Bucket = str | Callable[[Request], str]  # a bucket name, or one chosen per request (feeds: per feed type)
JSON = ("application/json",)


def accepted(accept: str, allowed: Sequence[str]) -> bool:
    """Whether an Accept header names one of `allowed` (parameters and q-values ignored)."""
    types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return any(kind in types for kind in allowed)


def check_service_headers(request: Request) -> None:
    """400 unless `WM_SVC.NAME` and `WM_QOS.CORRELATION_ID` are present and not blank."""
    for name in ("WM_SVC.NAME", "WM_QOS.CORRELATION_ID"):
        value = request.headers.get(name)
        if value is None:
            raise errors.missing_header(name)
        if not value.strip():
            raise errors.invalid_header(name, "is null or blank")


def check_accept(request: Request, allowed: Sequence[str]) -> None:
    """400 without Accept, 406 when it names none of `allowed`."""
    accept = request.headers.get("accept")
    if accept is None:
        raise errors.missing_header("Accept")
    if not accepted(accept, allowed):
        raise errors.not_acceptable(accept)


class Gate:
    """Wraps business handlers; `error_key` is the top-level member of error documents."""

    def __init__(self, state: WalmartState, buckets: Buckets, controls: Controls, error_key: str = "errors") -> None:
        self.state, self.buckets, self.controls, self.error_key = state, buckets, controls, error_key

    def __call__(self, endpoint: str, bucket: Bucket, handler: Handler, accept: Sequence[str] = JSON) -> Handler:
        """The route endpoint for `handler`; `endpoint` names it in stats and fault targeting."""

        async def run(request: Request) -> Response:
            response = await self._answer(request, endpoint, bucket, handler, accept)
            self.controls.record(endpoint, response.status_code)
            return response

        return run

    async def _answer(self, request: Request, endpoint: str, bucket: Bucket, handler: Handler,
                      accept: Sequence[str]) -> Response:
        headers: dict[str, str] = {}
        try:
            check_service_headers(request)
            self._check_token(request)
            check_accept(request, accept)
            decision = self.buckets.hit(bucket if isinstance(bucket, str) else bucket(request))
            if decision is not None:
                headers = decision.headers()
                if not decision.allowed:
                    raise errors.throttled(headers)
            fault = self.controls.take(endpoint)
            if fault is not None:
                raise (errors.throttled({**headers, "x-current-token-count": "0"}) if fault.status == 429
                       else errors.server_fault(fault.status))
            self.state.settle_feeds()
            response = await handler(request)
        except WalmartError as error:
            response = error.response(self.error_key)
        response.headers.update(headers)
        return response

    def _check_token(self, request: Request) -> None:
        token = request.headers.get("WM_SEC.ACCESS_TOKEN")
        if not token:
            raise errors.unauthorized()
        status = self.state.token_state(token)
        if status != "valid":
            raise errors.unauthorized("Unauthorized" if status == "unknown" else "[sandbox] access token expired")
