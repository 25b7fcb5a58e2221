"""Starlette app serving the ShipStation V2 inventory API over a `ShipStationV2State`.

Each API request passes, in order: `API-Key` auth (401) → the key's fixed rate-limit window (429
with `Retry-After`) → a queued fault (5xx) → the handler (2xx or a V2 error document). `GET /jwks`
and `/__sandbox/...` need no key and are not rate limited.
"""

from __future__ import annotations

import hmac
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.shipstation.app import BaseUrl
from sandbox.shipstation.ratelimit import FixedWindowLimiter
from sandbox.shipstation_v2.control import Controls, control_routes
from sandbox.shipstation_v2.errors import JSONResponse, V2Error, invalid, not_found, rate_limited, unauthorized
from sandbox.shipstation_v2.hooks import SignedDispatcher
from sandbox.shipstation_v2.shipping_routes import control_table, shipping_table, webhook_table
from sandbox.shipstation_v2.signing import Signer
from sandbox.shipstation_v2.state import ShipStationV2State
from sandbox.shipstation_v2.transactions import loads

Handler = Callable[[Request], Awaitable[Response]]
DEFAULT_LIMIT = 25  # §5.1: lists default to 25 per page
MAX_LIMIT = 500  # assumption: larger `limit` values are clamped
GROUP_BY = ("warehouse", "location")


class Gate:
    """Wraps API handlers with auth, rate limiting, fault injection and counting."""

    def __init__(self, api_keys: Collection[str], limiter: FixedWindowLimiter | None, controls: Controls) -> None:
        self.api_keys = tuple(api_keys)
        self.limiter = limiter
        self.controls = controls

    def __call__(self, template: str, handler: Handler) -> Handler:
        """An endpoint for route `template` that runs `handler` behind the gate."""

        async def endpoint(request: Request) -> Response:
            response = await self._answer(request, handler)
            self.controls.record(template, response.status_code)
            return response

        return endpoint

    def _key(self, request: Request) -> str | None:
        given = request.headers.get("api-key", "")  # header names are case-insensitive
        match = [key for key in self.api_keys if hmac.compare_digest(given.encode(), key.encode())]
        return match[0] if given and match else None

    async def _answer(self, request: Request, handler: Handler) -> Response:
        key = self._key(request)
        if key is None:
            return unauthorized().response()
        if self.limiter is not None:
            decision = self.limiter.hit(key)
            if not decision.allowed:
                return rate_limited().response({"Retry-After": str(max(1, decision.reset_seconds))})
        fault = self.controls.take_fault()
        if fault is not None and not fault.after_apply:
            return fault.response()
        try:
            response = await handler(request)
        except V2Error as error:
            response = error.response()
        return fault.response() if fault is not None else response


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid(f"{name} must be an integer") from None


def page_of(request: Request, key: str, rows: list[Any], size: int | None = None) -> dict[str, Any]:
    """One page of `rows` in the V2 envelope: `{key: [...], total, page, pages, links}`.

    `size` is the page size already read (lists that take `page_size`); else the inventory lists'
    `limit`. `links.first/last` always carry an `href`; `prev`/`next` are `{}` when there is no such
    page (ShipEngine's PaginationLink: "href will only be set when the page is less than pages").
    """
    limit = size or _int_param(request, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT
    page = _int_param(request, "page", 1)
    if limit < 0 or page < 1:
        raise invalid("limit must be positive and page at least 1")
    limit = min(limit, MAX_LIMIT)
    pages = math.ceil(len(rows) / limit)

    def link(number: int) -> dict[str, str]:
        return {"href": str(request.url.include_query_params(page=number))}

    return {
        key: rows[(page - 1) * limit : page * limit], "total": len(rows), "page": page, "pages": pages,
        "links": {"first": link(1), "last": link(max(pages, 1)), "prev": link(page - 1) if page > 1 else {},
                  "next": link(page + 1) if page < pages else {}},
    }


async def _object(request: Request) -> dict[str, Any]:
    body = loads(await request.body())
    if not isinstance(body, dict):
        raise invalid("request body must be a JSON object")
    return body


def api_routes(state: ShipStationV2State, gate: Gate) -> list[Route]:
    """Routes of the V2 inventory surface this simulator covers."""

    async def list_inventory(request: Request) -> Response:
        params = request.query_params
        group_by = params.get("group_by") or None
        if group_by is not None and group_by not in GROUP_BY:
            raise invalid("group_by must be warehouse or location")
        skus = [s for s in params.get("sku", "").split(",") if s] or None
        rows = state.levels(skus=skus, warehouse_id=params.get("inventory_warehouse_id") or None,
                            location_id=params.get("inventory_location_id") or None, group_by=group_by)
        return JSONResponse(page_of(request, "inventory", rows))

    async def post_inventory(request: Request) -> Response:
        state.post_transaction(await request.body())
        return Response(status_code=204)

    async def list_warehouses(request: Request) -> Response:
        return JSONResponse(page_of(request, "inventory_warehouses", list(state.warehouses.values())))

    async def create_warehouse(request: Request) -> Response:
        body = await _object(request)
        return JSONResponse(state.add_warehouse(body.get("name")))  # type: ignore[arg-type]

    async def get_warehouse(request: Request) -> Response:
        ident = request.path_params["inventory_warehouse_id"]
        if ident not in state.warehouses:
            raise not_found("inventory_warehouse_id", ident)
        return JSONResponse(state.warehouses[ident])

    async def list_locations(request: Request) -> Response:
        return JSONResponse(page_of(request, "inventory_locations", list(state.locations.values())))

    async def create_location(request: Request) -> Response:
        body = await _object(request)
        warehouse = body.get("inventory_warehouse_id")
        if not warehouse:
            raise invalid("inventory_warehouse_id is required", code="field_value_required")
        return JSONResponse(state.add_location(str(warehouse), body.get("name"), barcode=body.get("barcode")))  # type: ignore[arg-type]

    async def get_location(request: Request) -> Response:
        ident = request.path_params["inventory_location_id"]
        if ident not in state.locations:
            raise not_found("inventory_location_id", ident)
        return JSONResponse(state.locations[ident])

    table: list[tuple[str, str, Handler]] = [
        ("/v2/inventory", "GET", list_inventory),
        ("/v2/inventory", "POST", post_inventory),
        ("/v2/inventory_warehouses", "GET", list_warehouses),
        ("/v2/inventory_warehouses", "POST", create_warehouse),
        ("/v2/inventory_warehouses/{inventory_warehouse_id}", "GET", get_warehouse),
        ("/v2/inventory_locations", "GET", list_locations),
        ("/v2/inventory_locations", "POST", create_location),
        ("/v2/inventory_locations/{inventory_location_id}", "GET", get_location),
        *shipping_table(state, page_of),
        *webhook_table(state),
    ]
    return [Route(path, gate(f"{method} {path}", handler), methods=[method]) for path, method, handler in table]


def create_app(
    state: ShipStationV2State, *, api_keys: Collection[str] | Mapping[str, Any], rate_limit: int = 200,
    window_seconds: float = 60.0, signer: Signer | None = None, base_url: str | None = None,
    webhook_delay: tuple[float, float] = (1.0, 4.0), webhook_drop_rate: float = 0.1, webhook_seed: int | None = 0,
) -> Starlette:
    """A ShipStation V2 simulator (inventory; shipments, labels, tracking and carriers of a linked V1
    account). `api_keys`: the accepted keys (a mapping's keys); `rate_limit` requests per
    `window_seconds` per key (0 disables); `signer` defaults to a new 2048-bit RSA key pair. Tracking
    webhooks are signed, arrive `webhook_delay` seconds late and are lost with `webhook_drop_rate`;
    their `resource_url` starts with `base_url` (default: the first request's)."""
    controls = Controls()
    signer = signer or Signer()
    limiter = FixedWindowLimiter(rate_limit, window_seconds) if rate_limit > 0 else None
    gate = Gate(list(api_keys), limiter, controls)
    dispatcher = SignedDispatcher(state.hooks, signer, base_url=base_url, delay=webhook_delay,
                                  drop_rate=webhook_drop_rate, seed=webhook_seed)

    async def jwks(request: Request) -> Response:
        return JSONResponse(signer.jwks())

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            dispatcher.close()

    routes = [Route("/jwks", jwks, methods=["GET"]), *control_routes(state, controls, signer),
              *control_table(state, dispatcher), *api_routes(state, gate)]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.shipstation_v2 = state
    app.state.controls = controls
    app.state.signer = signer
    app.state.webhooks = dispatcher
    app.add_middleware(BaseUrl, dispatcher=dispatcher)
    return app
