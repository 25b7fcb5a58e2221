"""Starlette app serving the Walmart Marketplace API over a `WalmartState` (see the package docstring)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.shipstation.app import api_key
from sandbox.walmart import errors
from sandbox.walmart.bodies import form_fields
from sandbox.walmart.control import control_routes
from sandbox.walmart.control_stats import Controls
from sandbox.walmart.errors import JSONResponse, WalmartError
from sandbox.walmart.gate import Gate, check_accept, check_service_headers
from sandbox.walmart.limits import Buckets, Limit
from sandbox.walmart.routes_listings import inventory_routes, item_routes, price_and_feed_routes
from sandbox.walmart.routes_sales import order_routes, report_routes, return_routes
from sandbox.walmart.routes_webhooks import webhook_routes
from sandbox.walmart.state import TOKEN_SECONDS, WalmartState

TOKEN_ENDPOINT = "POST /v3/token"


def token_route(state: WalmartState, credentials: dict[str, str], buckets: Buckets, controls: Controls,
                error_key: str) -> Route:
    """`POST /v3/token`: client credentials only (authorization_code / refresh_token need a Solution Provider)."""

    async def token(request: Request) -> Response:
        headers: dict[str, str] = {}
        issued = False
        try:
            check_service_headers(request)
            if api_key(request.headers.get("authorization"), credentials) is None:  # same Basic check
                raise errors.unauthorized()
            check_accept(request, ("application/json",))
            decision = buckets.hit("token")
            if decision is not None:
                headers = decision.headers()
                if not decision.allowed:
                    raise errors.throttled(headers)
            grant = (await form_fields(request)).get("grant_type")
            if grant != "client_credentials":
                raise errors.bad_param("grant_type", "must be client_credentials", "GMP_GATEWAY_API",
                                       missing=grant is None)
            response: Response = JSONResponse({"access_token": state.issue_token(), "token_type": "Bearer",
                                               "expires_in": TOKEN_SECONDS})
            issued = True
        except WalmartError as error:
            response = error.response(error_key)
        response.headers.update(headers)
        controls.record_token(issued)
        controls.record(TOKEN_ENDPOINT, response.status_code)
        return response

    return Route("/v3/token", token, methods=["POST"])


def create_app(state: WalmartState, *, credentials: dict[str, str], rate_limits: bool = True,
               limits: dict[str, Limit] | None = None, error_key: str = "errors") -> Starlette:
    """A Walmart Marketplace simulator. `credentials` maps client id → client secret.

    `rate_limits=False` starts with the buckets off (benches); `limits` replaces the default allotments
    (`sandbox.walmart.limits.DEFAULT_LIMITS`); `error_key="error"` answers errors the way the gateway was
    also seen to (`{"error": [...]}`) for clients that must cope with both.
    """
    controls = Controls()
    buckets = Buckets(state.clock, limits, enabled=rate_limits)
    gate = Gate(state, buckets, controls, error_key)
    routes = [token_route(state, dict(credentials), buckets, controls, error_key),
              *order_routes(state, gate), *return_routes(state, gate), *report_routes(state, gate),
              *item_routes(state, gate), *inventory_routes(state, gate), *price_and_feed_routes(state, gate, controls),
              *webhook_routes(state, gate),
              *control_routes(state, controls, buckets)]
    app = Starlette(routes=routes)
    app.state.walmart = state
    app.state.controls = controls
    app.state.buckets = buckets
    return app
