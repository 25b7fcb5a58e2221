"""Starlette app serving the ShipStation V1 API over a `ShipStationState`.

Each API request passes, in order: Basic auth (401) → the key's rate-limit window (429) → a
queued fault (5xx) → the handler (200 or an `ApiError`). Every response after auth carries the
`X-Rate-Limit-*` headers of the key that was charged.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from sandbox.shipstation import labels, payload, query, serialize
from sandbox.shipstation.control import Controls, JSONResponse, control_routes
from sandbox.shipstation.delivery import Dispatcher
from sandbox.shipstation.errors import ApiError, not_found
from sandbox.shipstation.payload import loads
from sandbox.shipstation.ratelimit import FixedWindowLimiter
from sandbox.shipstation.state import ShipStationState

Handler = Callable[[Request], Awaitable[Response]]


def api_key(authorization: str | None, credentials: dict[str, str]) -> str | None:
    """The API key of a valid `Basic base64(key:secret)` header, else None."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        key, sep, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    expected = credentials.get(key)
    if not sep or expected is None or not hmac.compare_digest(secret.encode(), expected.encode()):
        return None
    return key


class Gate:
    """Wraps API handlers with auth, rate limiting, fault injection and counting."""

    def __init__(self, credentials: dict[str, str], limiter: FixedWindowLimiter | None, controls: Controls):
        self.credentials = dict(credentials)
        self.limiter = limiter
        self.controls = controls

    def __call__(self, template: str, handler: Handler) -> Handler:
        """An endpoint for route `template` that runs `handler` behind the gate."""

        async def endpoint(request: Request) -> Response:
            response = await self._answer(request, handler)
            self.controls.record(template, response.status_code)
            return response

        return endpoint

    async def _answer(self, request: Request, handler: Handler) -> Response:
        key = api_key(request.headers.get("authorization"), self.credentials)
        if key is None:
            return PlainTextResponse("401 Unauthorized", status_code=401)
        headers: dict[str, str] = {}
        if self.limiter is not None:
            decision = self.limiter.hit(key)
            headers = decision.headers()
            if not decision.allowed:
                return JSONResponse({"message": "Too Many Requests"}, status_code=429, headers=headers)
        response = self.controls.take_fault()
        if response is None:
            try:
                response = await handler(request)
            except ApiError as exc:
                response = JSONResponse(exc.body, status_code=exc.status)
        response.headers.update(headers)
        return response


def _path_id(request: Request, name: str, what: str) -> int:
    raw = request.path_params[name]
    try:
        return int(raw)
    except ValueError:
        raise not_found(what, raw) from None


def api_routes(state: ShipStationState, gate: Gate) -> list[Route]:
    """Routes of the ShipStation V1 surface this simulator covers."""

    async def list_orders(request: Request) -> Response:
        listing = query.order_listing(request.query_params, state.import_batch)
        rows, total = state.list_orders(listing)
        orders = [serialize.order(o) for o in rows]
        return JSONResponse(serialize.page("orders", orders, total, listing.page, listing.page_size))

    async def get_order(request: Request) -> Response:
        return JSONResponse(serialize.order(state.get_order(_path_id(request, "orderId", "Order"))))

    async def delete_order(request: Request) -> Response:
        state.delete_order(_path_id(request, "orderId", "Order"))
        return JSONResponse({"success": True, "message": "The requested order has been deleted."})

    async def create_order(request: Request) -> Response:
        return JSONResponse(serialize.order(state.upsert_order(loads(await request.body()))))

    async def create_orders(request: Request) -> Response:
        return JSONResponse(state.upsert_orders(loads(await request.body())))

    async def list_products(request: Request) -> Response:
        listing = query.product_listing(request.query_params)
        rows, total = state.list_products(listing)
        products = [serialize.product(p) for p in rows]
        return JSONResponse(serialize.page("products", products, total, listing.page, listing.page_size))

    async def get_product(request: Request) -> Response:
        product_id = _path_id(request, "productId", "Product")
        if product_id not in state.products:
            raise not_found("Product", product_id)
        return JSONResponse(serialize.product(state.products[product_id]))

    async def list_customers(request: Request) -> Response:
        listing = query.customer_listing(request.query_params)
        rows, total = state.list_customers(listing)
        customers = [serialize.customer(c) for c in rows]
        return JSONResponse(serialize.page("customers", customers, total, listing.page, listing.page_size))

    async def get_customer(request: Request) -> Response:
        customer_id = _path_id(request, "customerId", "Customer")
        if customer_id not in state.customers:
            raise not_found("Customer", customer_id)
        return JSONResponse(serialize.customer(state.customers[customer_id]))

    async def list_stores(request: Request) -> Response:
        show_inactive = request.query_params.get("showInactive", "").lower() == "true"
        market = request.query_params.get("marketplaceId")
        stores = [s for s in state.stores if (show_inactive or s.get("active", True))
                  and (not market or str(s.get("marketplaceId")) == market)]
        return JSONResponse([serialize.store(s) for s in stores])

    async def list_warehouses(request: Request) -> Response:
        return JSONResponse([serialize.warehouse(w) for w in state.warehouses])

    table: list[tuple[str, str, Handler]] = [
        ("/orders", "GET", list_orders),
        ("/orders/createorder", "POST", create_order),
        ("/orders/createorders", "POST", create_orders),
        *shipping_table(state),
        ("/orders/{orderId}", "GET", get_order),
        ("/orders/{orderId}", "DELETE", delete_order),
        ("/products", "GET", list_products),
        ("/products/{productId}", "GET", get_product),
        ("/customers", "GET", list_customers),
        ("/customers/{customerId}", "GET", get_customer),
        ("/stores", "GET", list_stores),
        ("/warehouses", "GET", list_warehouses),
    ]
    return [Route(path, gate(path, handler), methods=[method]) for path, method, handler in table]


def shipping_table(state: ShipStationState) -> list[tuple[str, str, Handler]]:
    """Shipments (labels) and webhook subscriptions (§3.1, §4)."""

    async def list_shipments(request: Request) -> Response:
        listing, items = query.shipment_listing(request.query_params, state.shipments.batch)
        rows, total = state.list_shipments(listing)
        shipments = [serialize.shipment(s, items=items) for s in rows]
        return JSONResponse(serialize.page("shipments", shipments, total, listing.page, listing.page_size))

    async def create_label(request: Request) -> Response:
        order_id, test, options = payload.parse_label_request(loads(await request.body()))
        label = state.test_label(order_id, **options) if test else state.create_label(order_id, **options)
        return JSONResponse(serialize.shipment(label, items=False, label_data=labels.LABEL_PDF))

    async def void_label(request: Request) -> Response:
        return JSONResponse(state.void_label(payload.parse_void_request(loads(await request.body()))))

    async def list_webhooks(request: Request) -> Response:
        return JSONResponse(state.webhooks.listing())

    async def subscribe(request: Request) -> Response:
        stores = {s["storeId"] for s in state.stores}
        return JSONResponse({"id": state.webhooks.subscribe(loads(await request.body()), stores)["WebHookID"]})

    async def unsubscribe(request: Request) -> Response:
        state.webhooks.delete(_path_id(request, "webhookId", "Webhook"))
        return Response(status_code=200)

    return [
        ("/orders/createlabelfororder", "POST", create_label),
        ("/shipments", "GET", list_shipments),
        ("/shipments/voidlabel", "POST", void_label),
        ("/webhooks", "GET", list_webhooks),
        ("/webhooks/subscribe", "POST", subscribe),
        ("/webhooks/{webhookId}", "DELETE", unsubscribe),
    ]


class BaseUrl:
    """ASGI wrapper: until told otherwise, the dispatcher's base URL is the first request's."""

    def __init__(self, app: Any, dispatcher: Dispatcher) -> None:
        self.app, self.dispatcher = app, dispatcher

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.dispatcher.base_url is None and scope["type"] == "http":
            self.dispatcher.base_url = str(Request(scope).base_url).rstrip("/")
        await self.app(scope, receive, send)


def create_app(
    state: ShipStationState, *, credentials: dict[str, str], rate_limit: int = 40, window_seconds: float = 60.0,
    base_url: str | None = None, webhook_delay: tuple[float, float] = (1.0, 4.0), webhook_drop_rate: float = 0.1,
    webhook_seed: int | None = 0,
) -> Starlette:
    """A ShipStation V1 simulator. `credentials` maps API key → secret; `rate_limit=0` disables limits.

    Webhooks are delivered `webhook_delay` seconds late (uniform) and dropped with probability
    `webhook_drop_rate`; resource URLs start with `base_url` (default: the first request's).
    """
    controls = Controls()
    limiter = FixedWindowLimiter(rate_limit, window_seconds) if rate_limit > 0 else None
    gate = Gate(credentials, limiter, controls)
    dispatcher = Dispatcher(state.webhooks, base_url=base_url, delay=webhook_delay, drop_rate=webhook_drop_rate,
                            seed=webhook_seed)
    state.listeners.append(dispatcher.publish)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            dispatcher.close()
            if dispatcher.publish in state.listeners:
                state.listeners.remove(dispatcher.publish)

    app = Starlette(routes=[*control_routes(state, controls, dispatcher), *api_routes(state, gate)],
                    lifespan=lifespan)
    app.state.shipstation = state
    app.state.controls = controls
    app.state.webhooks = dispatcher
    app.add_middleware(BaseUrl, dispatcher=dispatcher)
    return app
